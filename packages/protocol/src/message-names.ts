/** Socket.IO event names of the sync protocol (DESIGN.md §5). */
export const MessageName = {
  /** Client → hub, with ack: `Hello` → `Welcome | HubErrorReply`. */
  hello: 'hello',
  /** Client → hub, with ack: `Push` → `PushAck | HubErrorReply`. */
  push: 'push',
  /** Client → hub, with ack: `Pull` → `PullResult | HubErrorReply`. */
  pull: 'pull',
  /** Client → hub, with ack: `Subscribe` → `SubscribeAck | HubErrorReply`. */
  subscribe: 'subscribe',
  /** Both ways, no ack: `Notify`. */
  notify: 'notify',
  /** Hub → client: `LiveEvents`. */
  events: 'events',
  /** Hub → client: `HubError`, then usually a disconnect. */
  hubError: 'hub-error',
} as const;
/** A Socket.IO event name of the sync protocol. */
export type MessageName = (typeof MessageName)[keyof typeof MessageName];
