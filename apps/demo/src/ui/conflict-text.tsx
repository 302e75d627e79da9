import type { ConflictEntry } from '../conflicts.ts';
import { shortId } from './hooks.ts';

/**
 * What happened, in a team member's words: for a conflict this device lost, who changed the
 * board first and what became of my change; for any other refusal, its message. The codes and
 * ids are in a details view below it.
 */
export function ConflictText({ entry }: { readonly entry: ConflictEntry }) {
  const { story } = entry;
  return (
    <>
      {story === undefined ? (
        <p>{entry.message}</p>
      ) : (
        <>
          <ul class="conflict-theirs" data-testid="conflict-theirs">
            {story.theirs.map((line, i) => (
              <li key={i}>{line}</li>
            ))}
          </ul>
          <p data-testid="conflict-yours">
            {story.yours} {story.outcome}
          </p>
        </>
      )}
      <TechnicalDetails entry={entry} />
    </>
  );
}

/** The refusal as the sync engine and the hub told it: code, message, versions and ids. */
function TechnicalDetails({ entry }: { readonly entry: ConflictEntry }) {
  const { technical } = entry;
  return (
    <details class="technical" data-testid="conflict-details">
      <summary>Details</summary>
      <dl>
        <dt>Code</dt>
        <dd>
          <code>{entry.code}</code>
        </dd>
        {technical !== undefined && (
          <>
            <dt>Hub</dt>
            <dd>{technical.hubMessage}</dd>
            {technical.expectedVersion !== undefined && (
              <>
                <dt>Decided on</dt>
                <dd>
                  <code>exp v{technical.expectedVersion}</code>
                </dd>
              </>
            )}
            <dt>Event</dt>
            <dd>
              <code title={technical.eventId}>
                {entry.eventType} {shortId(technical.eventId)}
              </code>
            </dd>
            <dt>Client</dt>
            <dd>
              <code>{technical.clientId}</code>
            </dd>
          </>
        )}
        {technical === undefined && entry.story === undefined && entry.source === 'decider' && (
          <>
            <dt>Where</dt>
            <dd>refused on this device by the board's rules; nothing was sent</dd>
          </>
        )}
      </dl>
    </details>
  );
}
