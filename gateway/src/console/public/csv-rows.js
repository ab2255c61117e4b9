// Keeping some rows of a CSV the gateway wrote, each whole as written: RFC 4180, where a quoted field may hold commas,
// doubled quotes and line breaks (a disposal record's measures often have several lines).

/** The records of `text`: each its exact text (without the line end) and its fields' values. */
function recordsOf(text) {
  const records = [];
  let fields = [];
  let field = '';
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char !== '"') field += char;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      fields.push(field);
      records.push({ text: text.slice(start, i), fields });
      if (char === '\r' && text[i + 1] === '\n') i++;
      start = i + 1;
      fields = [];
      field = '';
    } else field += char;
  }
  if (start < text.length) records.push({ text: text.slice(start), fields: [...fields, field] });
  return records;
}

/**
 * The CSV with its header and only the rows whose `column` passes `keep(value)`; the byte-order mark (Excel reads
 * Chinese right with it) and CRLF line ends as the gateway writes them.
 */
export function keepCsvRows(text, column, keep) {
  const mark = text.startsWith('\uFEFF') ? '\uFEFF' : '';
  const [head, ...rows] = recordsOf(text.slice(mark.length));
  if (!head) return text;
  const index = head.fields.indexOf(column);
  const kept = rows.filter((row) => keep(row.fields[index]));
  return `${mark}${[head, ...kept].map((row) => row.text).join('\r\n')}\r\n`;
}
