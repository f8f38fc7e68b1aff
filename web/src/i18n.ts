// Every string the portal shows is in messages/zh-CN.json or messages/en.json, the
// console's in messages/console.zh-CN.json and console.en.json (the same
// keys in both; tests/portal.test.mjs and console.test.mjs check). zh-CN is the default;
// the choice is kept.
import zh from './messages/zh-CN.json';
import en from './messages/en.json';

export type Lang = 'zh-CN' | 'en';
const books: Record<Lang, Record<string, string>> = { 'zh-CN': zh, en };
let lang: Lang = (localStorage.getItem('hg_lang') as Lang) === 'en' ? 'en' : 'zh-CN';

export function currentLang(): Lang { return lang; }
export function setLang(l: Lang): void {
  lang = l;
  localStorage.setItem('hg_lang', l);
  document.documentElement.lang = l;
}
document.documentElement.lang = lang;

// t('key', {n: 3}) with {name} placeholders; an unknown key shows itself (found in tests).
export function t(key: string, params: Record<string, string | number> = {}): string {
  const text = books[lang][key] ?? books['zh-CN'][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}
export function has(key: string): boolean { return key in books[lang]; }

// More strings, from a part loaded later (the console's, messages/console.*.json).
export function addMessages(more: Record<Lang, Record<string, string>>): void {
  for (const l of Object.keys(books) as Lang[]) Object.assign(books[l], more[l]);
}
