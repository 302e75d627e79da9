import type { Eventloom } from '@eventloom/client';
import type { Rejection } from '@eventloom/core';
import type { EventMeta } from '@eventloom/protocol';
import {
  boardDecider,
  boardStream,
  CardAssigned,
  CardBlocked,
  CardEdited,
  ColumnAdded,
  ColumnRenamed,
  MemberJoined,
  WipLimitSet,
  type BoardCommand,
  type BoardRejection,
} from './domain/index.ts';

/** What a command did: its events were appended, or the board refused it (nothing appended). */
export type CommandOutcome =
  | { readonly ok: true; readonly eventIds: readonly string[] }
  | { readonly ok: false; readonly rejection: Rejection<BoardRejection>; readonly command: BoardCommand };

/**
 * Everything a person can do to the board. Rules that need the board's state (WIP limits, the
 * archive saga) go through the board decider with `execute`, hence `expectedVersion`; plain
 * edits (titles, assignees, blocks) are appended as facts and merged in the hub's order.
 */
export class BoardCommands {
  readonly #loom: Eventloom;
  readonly #boardId: string;
  readonly #refused: (command: BoardCommand, rejection: Rejection<BoardRejection>) => void;

  constructor(
    loom: Eventloom,
    boardId: string,
    onRefused: (command: BoardCommand, rejection: Rejection<BoardRejection>) => void,
  ) {
    this.#loom = loom;
    this.#boardId = boardId;
    this.#refused = onRefused;
  }

  get stream(): string {
    return boardStream(this.#boardId);
  }

  /**
   * Runs a decided command. A refusal is returned, and reported (the conflicts panel shows it)
   * unless `report` is false: the caller then reports it with its own resolution.
   */
  async execute(command: BoardCommand, meta?: EventMeta, report = true): Promise<CommandOutcome> {
    const result = await this.#loom.execute(boardDecider, command, meta === undefined ? {} : { meta });
    if (result.ok) return { ok: true, eventIds: result.events.map((e) => e.id) };
    if (report) this.#refused(command, result.rejection);
    return { ok: false, rejection: result.rejection, command };
  }

  createCard(input: { columnId: string; title: string; description?: string; createdBy: string | null }) {
    return this.execute({
      type: 'create-card',
      board: this.#boardId,
      cardId: crypto.randomUUID(),
      columnId: input.columnId,
      title: input.title,
      description: input.description ?? '',
      createdBy: input.createdBy,
    });
  }

  moveCard(cardId: string, to: string, rank: number) {
    return this.execute({ type: 'move-card', board: this.#boardId, cardId, to, rank });
  }

  archiveCard(cardId: string) {
    return this.execute({ type: 'archive-card', board: this.#boardId, cardId, requestId: null });
  }

  restoreCard(cardId: string) {
    return this.execute({ type: 'restore-card', board: this.#boardId, cardId });
  }

  /** Starts the archive-column saga. */
  archiveColumn(columnId: string, by: string | null) {
    const requestId = crypto.randomUUID();
    return this.execute(
      { type: 'request-archive', board: this.#boardId, columnId, requestId, by },
      { correlationId: requestId },
    );
  }

  async editCard(cardId: string, title: string, description: string): Promise<void> {
    await this.#loom.append(this.stream, CardEdited.create({ cardId, title, description }));
  }

  async assignCard(cardId: string, assignee: string | null): Promise<void> {
    await this.#loom.append(this.stream, CardAssigned.create({ cardId, assignee }));
  }

  async blockCard(cardId: string, blocked: boolean, reason: string): Promise<void> {
    await this.#loom.append(this.stream, CardBlocked.create({ cardId, blocked, reason }));
  }

  async addColumn(title: string, rank: number): Promise<void> {
    await this.#loom.append(this.stream, ColumnAdded.create({ columnId: crypto.randomUUID(), title, rank }));
  }

  async renameColumn(columnId: string, title: string): Promise<void> {
    await this.#loom.append(this.stream, ColumnRenamed.create({ columnId, title }));
  }

  /**
   * Sets a WIP limit. Lowering it under the cards a column holds is allowed (the column shows it
   * is over): the limit guards what enters, it does not evict.
   */
  async setWipLimit(columnId: string, limit: number | null, meta?: EventMeta): Promise<void> {
    await this.#loom.append(
      this.stream,
      WipLimitSet.create({ columnId, limit }),
      meta === undefined ? undefined : { meta },
    );
  }

  async join(memberId: string, name: string, color: string): Promise<void> {
    await this.#loom.append(this.stream, MemberJoined.create({ memberId, name, color }));
  }
}
