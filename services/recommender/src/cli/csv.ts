// RFC 4180 CSV, enough for the LECR files (quoted fields with commas, quotes and line breaks; \n or
// \r\n records) and for writing submissions the way Python's csv module does (quote only when needed).
import fs from 'node:fs';

export class CsvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvError';
  }
}

/** Rows of a CSV text, header included. Scans field by field with indexOf/regex (not char by char). */
export function parseCsv(text: string, file = '<csv>'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // BOM
  let line = 1;
  const n = text.length;
  const delimiter = /[,\r\n]/g;
  if (n === 0 || i >= n) return rows;
  for (;;) {
    let field: string;
    if (text[i] === '"') {
      // quoted field: "" is a quote; runs until a lone quote
      let out = '';
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) throw new CsvError(`${file}:${line}: unterminated quoted field`);
        out += text.slice(j, q);
        if (text[q + 1] === '"') {
          out += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      for (let k = out.indexOf('\n'); k >= 0; k = out.indexOf('\n', k + 1)) line++;
      field = out;
      i = j;
      if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') throw new CsvError(`${file}:${line}: text after a closing quote`);
    } else {
      delimiter.lastIndex = i;
      const m = delimiter.exec(text);
      const end = m ? m.index : n;
      field = text.slice(i, end);
      if (field.includes('"')) throw new CsvError(`${file}:${line}: a quote inside an unquoted field`);
      i = end;
    }
    row.push(field);
    if (i >= n) {
      rows.push(row);
      return rows;
    }
    const c = text[i];
    if (c === ',') {
      i++;
      continue;
    }
    // end of record
    rows.push(row);
    row = [];
    i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    line++;
    if (i >= n) return rows;
  }
}

/** Records of a CSV file with a header, as objects; the named columns must exist. */
export function readCsvRecords(file: string, required: readonly string[]): Record<string, string>[] {
  if (!fs.existsSync(file)) throw new CsvError(`${file}: file not found`);
  const rows = parseCsv(fs.readFileSync(file, 'utf8'), file);
  if (rows.length === 0) throw new CsvError(`${file}: empty file (no header)`);
  const header = rows[0];
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length) throw new CsvError(`${file}: missing column(s) ${missing.join(', ')} (header: ${header.join(',')})`);
  return rows.slice(1).map((r, k) => {
    if (r.length !== header.length) throw new CsvError(`${file}: record ${k + 1} has ${r.length} fields, the header has ${header.length}`);
    const o: Record<string, string> = {};
    header.forEach((h, j) => (o[h] = r[j]));
    return o;
  });
}

export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

export function formatCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}
