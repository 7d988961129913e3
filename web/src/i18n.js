// The decryptor's sentences in the page's language. The page carries its
// catalogue in postseal-data ("messages": English sentence -> translation,
// from the key service's locale/catalog/<lang>.toml [browser] table); a
// sentence missing there is shown in English. Placeholders are {name}.

let messages = {};

export function setMessages(m) {
  messages = m && typeof m === 'object' ? m : {};
}

export function t(text, vars = {}) {
  const s = typeof messages[text] === 'string' && messages[text] ? messages[text] : text;
  return s.replace(/\{(\w+)\}/g, (all, k) => (k in vars ? String(vars[k]) : all));
}
