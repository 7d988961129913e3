// postal-mime decodes every text part into one string. For a long
// plain-text part build.mjs makes it keep the pieces instead (see
// src/long-text.js for why): where a plain part's text is taken, a part
// longer than LONG_TEXT_BYTES (and not format=flowed, which postal-mime
// rewrites as a whole) becomes a LongText decoded the same way in pieces;
// where the parts' texts are joined into the message's text, a LongText
// that is the only one is handed on as it is; and where a part's text is
// turned into the other type (plain into HTML), it is joined first. The
// joined pieces are the string postal-mime itself makes
// (test/parse-loop.test.mjs compares whole parses).

const collect = `                this.addTextEntry(alternative || node, textType, { type: 'text', value: node.getTextContent() });`;
const collectPieces = `                this.addTextEntry(alternative || node, textType, { type: 'text', value: textType === 'plain' ? postsealTextOf(node, getDecoder) : node.getTextContent() });`;

const convert = `    return textType === 'html' ? textToHtml(textEntry.value) : htmlToText(textEntry.value);`;
const convertJoined = `    return textType === 'html' ? textToHtml(String(textEntry.value)) : htmlToText(String(textEntry.value));`;

const join = `            this.textContent[textType] = textContent[textType].join('\\n');`;
const joinPieces = `            const postsealParts = textContent[textType];
            this.textContent[textType] = postsealParts.length === 1 && postsealParts[0] instanceof LongText ? postsealParts[0] : postsealParts.join('\\n');`;

// patchTextPieces rewrites src, postal-mime's dist/esm/postal-mime.js read
// from path; longTextModule is the path of src/long-text.js. A postal-mime
// that reads otherwise at any of the three places fails the build.
export function patchTextPieces(src, path, longTextModule) {
  for (const [from, what] of [[collect, 'text collection'], [convert, 'text conversion'], [join, 'text join']]) {
    if (src.split(from).length !== 2) throw new Error(`${path}: expected postal-mime's ${what} once (postal-mime changed?)`);
  }
  const imports = `import { LongText, textOf as postsealTextOf } from ${JSON.stringify(longTextModule)};
import { getDecoder } from './decode-strings.js';
`;
  return imports + src.replace(collect, collectPieces).replace(convert, convertJoined).replace(join, joinPieces);
}
