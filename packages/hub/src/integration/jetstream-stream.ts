import { JetStreamApiError, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';

/** How the relays treat the stream they use. */
export interface JetStreamStreamOptions {
  /** Create the stream when it is missing (default true); false: a missing stream is a config error. */
  readonly createStream?: boolean;
  /** The duplicate window of a stream created here, in ms (default 2 minutes). */
  readonly duplicateWindowMs?: number;
}

/**
 * Makes sure `stream` exists and takes `subjects`: creates it (file storage, the duplicate window
 * given) when missing, adds the subjects an existing stream of ours lacks only when they are free,
 * and otherwise throws a {@link HubError} `config` that says what to change.
 */
export async function ensureJetStream(
  jsm: JetStreamManager,
  options: { readonly stream: string; readonly subjects: readonly string[] } & JetStreamStreamOptions,
): Promise<StreamInfo> {
  const { stream, subjects, createStream = true, duplicateWindowMs = 120_000 } = options;
  if (!/^[A-Za-z0-9_-]+$/.test(stream)) {
    throw new HubError(
      HubErrorCode.config,
      `jetstream stream name must be letters, digits, _ and -, not ${JSON.stringify(stream)}`,
    );
  }
  let info: StreamInfo | undefined;
  try {
    info = await jsm.streams.info(stream);
  } catch (error) {
    if (!isNotFound(error)) throw config(`cannot read stream ${stream}`, error);
  }
  if (info === undefined) {
    if (!createStream) throw config(`stream ${stream} does not exist (create it, or let the hub create it)`);
    try {
      return await jsm.streams.add({
        name: stream,
        subjects: [...subjects],
        duplicate_window: duplicateWindowMs * 1_000_000,
      });
    } catch (error) {
      throw config(`cannot create stream ${stream} for ${subjects.join(', ')}`, error);
    }
  }
  const missing = subjects.filter((s) => !covers(info.config.subjects ?? [], s));
  if (missing.length > 0) {
    throw config(
      `stream ${stream} takes ${(info.config.subjects ?? []).join(', ') || 'no subjects'}, not ${missing.join(', ')}: add them to the stream or pick another stream`,
    );
  }
  if (!(info.config.duplicate_window > 0)) {
    throw config(`stream ${stream} has no duplicate window: Nats-Msg-Id dedupe needs one`);
  }
  return info;
}

/** Whether one of `patterns` (NATS subjects with `*` and `>`) matches every subject `subject` matches. */
export function covers(patterns: readonly string[], subject: string): boolean {
  const want = subject.split('.');
  return patterns.some((pattern) => {
    const have = pattern.split('.');
    for (let i = 0; i < have.length; i++) {
      if (have[i] === '>') return i < want.length;
      if (i >= want.length) return false;
      if (have[i] === '*') {
        if (want[i] === '>') return false;
        continue;
      }
      if (have[i] !== want[i]) return false;
    }
    return have.length === want.length;
  });
}

function isNotFound(error: unknown): boolean {
  return (
    (error instanceof JetStreamApiError && error.code === 10059) ||
    (error instanceof Error && /stream not found/i.test(error.message))
  );
}

function config(message: string, cause?: unknown): HubError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new HubError(
    HubErrorCode.config,
    `jetstream: ${message}${detail}`,
    cause === undefined ? undefined : { cause },
  );
}
