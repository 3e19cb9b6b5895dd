/** What every resource namespace shares: the transport, and request types read off a method. */

import type { DescMessage, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";

import { Pager } from "../pager.js";
import type { CallOptions, Transport } from "../transport.js";

/** The request a method takes, as a plain object (every field optional). */
export type RequestOf<M> = M extends DescMethodUnary<infer I, DescMessage> ? MessageInitShape<I> : never;
/** The message a method answers with. */
export type ReplyOf<M> = M extends DescMethodUnary<DescMessage, infer O> ? MessageShape<O> : never;

export abstract class Resource {
  constructor(protected readonly transport: Transport) {}

  protected call<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageInitShape<I>,
    options?: CallOptions,
  ): Promise<MessageShape<O>> {
    return this.transport.call(method, request, options);
  }

  /** A pager over a list RPC whose requests take `pageToken` and replies carry `nextPageToken`. */
  protected pager<I extends DescMessage, O extends DescMessage, T>(
    method: DescMethodUnary<I, O>,
    request: MessageInitShape<I> & { pageToken?: string },
    items: (reply: MessageShape<O>) => readonly T[],
    options?: CallOptions,
  ): Pager<T> {
    return new Pager(async (pageToken) => {
      const reply = await this.transport.call(method, { ...request, pageToken } as MessageInitShape<I>, options);
      return { items: items(reply), nextPageToken: (reply as { nextPageToken?: string }).nextPageToken ?? "" };
    }, request.pageToken ?? "");
  }
}
