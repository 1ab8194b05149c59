// Markdown to DOM, safely: HTML written by the model or the user is shown as text, never parsed;
// what marked produces is sanitized again by DOMPurify before it reaches the page; the page's
// Content-Security-Policy forbids inline scripts as a last line.
import {Marked} from '/vendor/marked/17.0.1/lib/marked.esm.js';

const ESCAPES = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
const escapeHtml = text => String(text).replace(/[&<>"']/g, c => ESCAPES[c]);

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html({text}) {
      return escapeHtml(text);
    },
    // No remote images (they would leak the reader's address): their description, as a link.
    image({href, text}) {
      return `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`;
    },
  },
});

const PURIFY = {
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'img', 'svg', 'math', 'iframe'],
  FORBID_ATTR: ['style', 'id'],
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};
let hooked = false;

function purify(html) {
  const purifier = window.DOMPurify;
  if (!hooked) {
    purifier.addHook('afterSanitizeAttributes', node => {
      const kept = node.tagName === 'CODE' && /^language-[A-Za-z0-9_+#-]{1,32}$/.test(node.getAttribute('class') || '');
      if (!kept) {
        node.removeAttribute('class');
      }
      // A link carrying a token would sign the reader in as someone else in the tab it opens.
      if (node.hasAttribute('href') && /access_token/i.test(node.getAttribute('href'))) {
        node.removeAttribute('href');
      }
      if (node.tagName === 'A') {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer nofollow');
      }
    });
    hooked = true;
  }
  return purifier.sanitize(html, PURIFY);
}

let announce = () => {};

/** Where "Copied." is said to screen readers. */
export function announceWith(say) {
  announce = say;
}

/** Renders `text` as markdown into `target`, replacing what it held. */
export function renderMarkdown(target, text) {
  const fragment = purify(marked.parse(text));
  for (const pre of fragment.querySelectorAll('pre')) {
    decorateCodeBlock(pre);
  }
  for (const table of fragment.querySelectorAll('table')) {
    const wrap = document.createElement('div');
    wrap.className = 'table-wrap';
    table.replaceWith(wrap);
    wrap.appendChild(table);
  }
  target.replaceChildren(fragment);
}

function decorateCodeBlock(pre) {
  const code = pre.querySelector('code');
  if (!code) {
    return;
  }
  const language = (code.getAttribute('class') || '').replace(/^language-/, '');
  const block = document.createElement('div');
  block.className = 'code-block';
  const head = document.createElement('div');
  head.className = 'code-head';
  const label = document.createElement('span');
  label.textContent = language || 'code';
  head.append(label, copyButton(() => code.textContent, 'Copy code', announce));
  pre.replaceWith(block);
  block.append(head, pre);
  const hljs = window.hljs;
  if (hljs) {
    const source = code.textContent;
    const known = language && hljs.getLanguage(language);
    // highlight.js escapes the source itself; its output holds only its own spans.
    const result = known ? hljs.highlight(source, {language, ignoreIllegals: true}) : null;
    if (result) {
      code.innerHTML = result.value;
      code.classList.add('hljs');
    }
  }
}

/** A button that copies `text()` to the clipboard and says so. */
export function copyButton(text, label = 'Copy', said = () => {}) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'copy';
  button.textContent = 'Copy';
  button.setAttribute('aria-label', label);
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text());
      button.textContent = 'Copied';
    } catch (e) {
      button.textContent = 'Copy failed';
    }
    said(button.textContent + '.');
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  });
  return button;
}

export {escapeHtml};
