// A small RFC 4180 reader and writer for inventory files: quoted fields may hold commas,
// line breaks and doubled quotes; CRLF or LF line ends; a UTF-8 byte-order mark is
// dropped. Records keep the line they start on, so that errors can point at it.

export interface CsvRecord {
  /** 1-based line of the file where the record starts (the header is line 1). */
  line: number;
  fields: string[];
}

export interface CsvResult {
  records: CsvRecord[];
  /** Malformed records, as `line N: …` reasons; such records are left out. */
  problems: { line: number; message: string }[];
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

/** Split CSV text into records. Blank lines are skipped. */
export function parseCsv(text: string): CsvResult {
  const records: CsvRecord[] = [];
  const problems: CsvResult['problems'] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let bad: string | undefined;
    // one record: fields until an unquoted line end or the end of the text
    for (;;) {
      let value = '';
      if (text.charCodeAt(i) === QUOTE) {
        i++;
        const opened = line;
        let closed = false;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            if (text.charCodeAt(i + 1) === QUOTE) {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (c === LF) line++;
          value += text[i++];
        }
        if (!closed) {
          bad ??= `a quoted field is not closed (the quote opened on line ${opened} runs to the end of the file)`;
          i = n;
        }
        while (closed && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++; // blanks after the quote
        if (closed && i < n && !isFieldEnd(text.charCodeAt(i))) {
          bad ??= `unexpected text after a closing quote (write a quote inside a quoted field as "")`;
          while (i < n && !isFieldEnd(text.charCodeAt(i))) i++;
        }
      } else {
        const from = i;
        while (i < n && !isFieldEnd(text.charCodeAt(i))) {
          if (text.charCodeAt(i) === QUOTE) bad ??= 'a quote inside an unquoted field (quote the whole field and double the quote: "a ""b"" c")';
          i++;
        }
        value = text.slice(from, i);
      }
      fields.push(value);
      if (i < n && text.charCodeAt(i) === COMMA) {
        i++;
        continue;
      }
      break;
    }
    // the record's line end
    if (text.charCodeAt(i) === CR) i++;
    if (text.charCodeAt(i) === LF) i++;
    line++;
    if (bad) problems.push({ line: start, message: bad });
    else if (!(fields.length === 1 && fields[0].trim() === '')) records.push({ line: start, fields });
  }
  return { records, problems };
}

function isFieldEnd(c: number): boolean {
  return c === COMMA || c === LF || c === CR;
}

/** One CSV field, quoted only when it has to be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvRow(values: string[]): string {
  return values.map(csvField).join(',');
}
