/** The part of seek-bzip (a CommonJS module without types) that packed-streams.ts calls. */
declare module 'seek-bzip' {
  interface BunzipInput {
    readByte(): number;
    read(buffer: Uint8Array, offset: number, length: number): number;
    eof(): boolean;
    seek(position: number): void;
  }
  interface BunzipOutput {
    writeByte(byte: number): void;
  }
  const Bunzip: {
    /** Decodes every stream of `input` when `multistream`; throws a TypeError with a numeric `errorCode` on bad data. */
    decode(input: BunzipInput, output: BunzipOutput, multistream: boolean): void;
    Err: { NOT_BZIP_DATA: number; UNEXPECTED_INPUT_EOF: number; DATA_ERROR: number };
  };
  export = Bunzip;
}
