/** List calls as async iterators: `for await (const payment of client.payments.list())`. */

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextPageToken: string;
}

/**
 * The items of every page, fetched one page at a time as the iteration reaches it. `pages()`
 * iterates over whole pages instead (each with the token of the next one, to resume later).
 */
export class Pager<T> implements AsyncIterable<T> {
  constructor(
    private readonly fetchPage: (pageToken: string) => Promise<Page<T>>,
    private readonly firstToken: string = "",
  ) {}

  async *pages(): AsyncGenerator<Page<T>> {
    let token = this.firstToken;
    do {
      const page = await this.fetchPage(token);
      yield page;
      token = page.nextPageToken;
    } while (token);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for await (const page of this.pages()) yield* page.items;
  }

  /** Every item, fetched to the last page. */
  async all(): Promise<T[]> {
    const found: T[] = [];
    for await (const item of this) found.push(item);
    return found;
  }
}
