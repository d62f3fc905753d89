/** The part of a Markdown syntax tree this plugin looks at. */
interface MdNode {
  type: string;
  value?: string;
  children?: MdNode[];
}

/**
 * A remark plugin: raw HTML in Markdown becomes plain text, so `<img src=x onerror=...>` in a reply
 * is shown exactly as written instead of being dropped or, worse, run.
 */
export function remarkHtmlAsText() {
  return (tree: MdNode) => {
    const visit = (node: MdNode) => {
      if (node.type === 'html') node.type = 'text';
      node.children?.forEach(visit);
    };
    visit(tree);
  };
}
