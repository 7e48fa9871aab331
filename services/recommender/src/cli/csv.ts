// RFC 4180 CSV, enough for the LECR files (quoted fields with commas, quotes and line breaks; \n or
// \r\n records) and for writing submissions the way Python's csv module does (quote only when needed).
import fs from 'node:fs';

export class CsvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvError';
  }
}

/** Rows of a CSV text, header included. */
export function parseCsv(text: string, file = '<csv>'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  let line = 1;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // BOM
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (field !== '') throw new CsvError(`${file}:${line}: a quote inside an unquoted field`);
      quoted = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
    } else {
      field += c;
      i++;
    }
  }
  if (quoted) throw new CsvError(`${file}:${line}: unterminated quoted field`);
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
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
