import type { ClientBase, Connection, Submittable } from 'pg';

/** One row of a binary COPY, read field by field in column order with the reader of each field's type. */
export interface CopyRow {
  /** The next field, a bigint column, or null. */
  int8(): number | null;
  /** The next field's bytes as sent (bytea as is, text as UTF-8), or null; valid only while the row is. */
  bytes(): Buffer | null;
}

/**
 * Runs `COPY (query) TO STDOUT (FORMAT binary)` on `client` and hands `onRow` each row as it arrives,
 * which must read all of its `fields` fields; a row's bytes are valid only during the call. Resolves with
 * the number of rows once the server is done; rejects with the first error, the server's or `onRow`'s
 * (the rows after it are not handed out).
 */
export function copyRows(
  client: ClientBase,
  query: string,
  fields: number,
  onRow: (row: CopyRow) => void,
): Promise<number> {
  return client.query(new CopyOut(`COPY (${query}) TO STDOUT (FORMAT binary)`, new RowReader(fields), onRow))
    .done;
}

// The binary COPY header: "PGCOPY\n\377\r\n\0", a flags word, and the length of a header extension.
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const NULL_FIELD = -1;
const TRAILER = -1;

/**
 * A COPY TO STDOUT that node-postgres queues and runs like any query: its client hands the running
 * query each message of the answer. The server sends each row in a CopyData message of its own (the
 * first one preceded by the header, the trailer alone), so rows are read straight from the messages.
 */
class CopyOut implements Submittable {
  readonly done: Promise<number>;
  readonly #text: string;
  readonly #reader: RowReader;
  readonly #onRow: (row: CopyRow) => void;
  #rows = 0;
  #header = false;
  #ended = false;
  #error: Error | undefined;
  #settle!: (err: Error | undefined) => void;

  constructor(text: string, reader: RowReader, onRow: (row: CopyRow) => void) {
    this.#text = text;
    this.#reader = reader;
    this.#onRow = onRow;
    this.done = new Promise((resolve, reject) => {
      this.#settle = (err) => (err ? reject(err) : resolve(this.#rows));
    });
  }

  submit(connection: Connection): void {
    connection.query(this.#text);
  }

  handleCopyData(msg: { chunk: Buffer }): void {
    // Thrown here, an error would escape into the connection's socket handler.
    if (this.#error !== undefined) return;
    try {
      this.#read(msg.chunk);
    } catch (err) {
      this.#error = err as Error;
    }
  }

  handleCommandComplete(): void {}

  /** After the server finished the statement (the client sends its next query now). */
  handleReadyForQuery(): void {
    if (this.#error === undefined && !this.#ended) this.#error = new Error('COPY ended without its trailer');
    this.#settle(this.#error);
  }

  handleError(err: Error): void {
    // onRow's error, if it came first, is the one to report.
    this.#settle(this.#error ?? err);
  }

  #read(data: Buffer): void {
    if (this.#ended) throw new Error('data after the binary COPY trailer');
    let pos = 0;
    if (!this.#header) {
      if (data.length < SIGNATURE.length + 8 || !data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
        throw new Error('not a binary COPY stream');
      }
      // Bits 0–15 of the flags are critical (none is known) and bit 16 adds OIDs, which nothing asks for.
      const flags = data.readUInt32BE(SIGNATURE.length);
      if ((flags & 0x1ffff) !== 0) throw new Error(`unexpected binary COPY flags ${flags.toString(16)}`);
      pos = SIGNATURE.length + 8 + data.readUInt32BE(SIGNATURE.length + 4);
      if (pos > data.length) throw new Error('the binary COPY header runs past its message');
      this.#header = true;
    }
    while (pos < data.length) {
      if (data.readInt16BE(pos) === TRAILER) {
        if (pos + 2 !== data.length) throw new Error('data after the binary COPY trailer');
        this.#ended = true;
        return;
      }
      pos = this.#reader.start(data, pos);
      this.#onRow(this.#reader);
      pos = this.#reader.finish();
      this.#rows++;
    }
  }
}

/** Reads the fields of one row in a CopyData message. */
class RowReader implements CopyRow {
  readonly #fields: number;
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #left = 0;

  constructor(fields: number) {
    this.#fields = fields;
  }

  /** Starts on the row at `pos` in `buf`. */
  start(buf: Buffer, pos: number): number {
    const n = buf.readInt16BE(pos);
    if (n !== this.#fields) throw new Error(`a COPY row has ${n} fields, expected ${this.#fields}`);
    this.#buf = buf;
    this.#pos = pos + 2;
    this.#left = n;
    return this.#pos;
  }

  /** Where the row ended; every field must have been read. */
  finish(): number {
    if (this.#left !== 0) throw new Error(`${this.#left} field(s) of a COPY row left unread`);
    return this.#pos;
  }

  int8(): number | null {
    const length = this.#field();
    if (length === NULL_FIELD) return null;
    if (length !== 8) throw new Error(`an int8 field has ${length} bytes`);
    const value = this.#buf.readInt32BE(this.#pos) * 2 ** 32 + this.#buf.readUInt32BE(this.#pos + 4);
    this.#pos += 8;
    if (!Number.isSafeInteger(value)) throw new RangeError(`int8 ${value} is beyond 2^53`);
    return value;
  }

  bytes(): Buffer | null {
    const length = this.#field();
    if (length === NULL_FIELD) return null;
    const end = this.#pos + length;
    if (end > this.#buf.length) throw new Error('a COPY field runs past the end of its row');
    const value = this.#buf.subarray(this.#pos, end);
    this.#pos = end;
    return value;
  }

  #field(): number {
    if (this.#left === 0) throw new Error('no field left in the COPY row');
    this.#left--;
    const length = this.#buf.readInt32BE(this.#pos);
    this.#pos += 4;
    if (length < NULL_FIELD) throw new Error(`a COPY field has length ${length}`);
    return length;
  }
}
