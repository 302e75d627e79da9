import type { Plugin } from 'vite';

/**
 * Adds `<link rel="modulepreload">` to the built `index.html` for the chunks the entry imports
 * dynamically to show the board (`main.tsx`: the board's code and the screen's), and what they
 * import: they are fetched with the entry instead of after it. The sync engine and the reactions,
 * loaded after the first paint, are left out.
 */
export function preloadFirstPaint(modules: readonly string[]): Plugin {
  return {
    name: 'eventloom:preload-first-paint',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const bundle = ctx.bundle;
        if (bundle === undefined) return [];
        const chunks = Object.values(bundle).filter((c) => c.type === 'chunk');
        const files = new Set<string>();
        const add = (fileName: string) => {
          const chunk = bundle[fileName];
          // The entry is in the page already.
          if (files.has(fileName) || chunk?.type !== 'chunk' || chunk.isEntry) return;
          files.add(fileName);
          for (const dep of chunk.imports) add(dep);
        };
        for (const chunk of chunks) {
          const id = chunk.facadeModuleId ?? '';
          if (chunk.isDynamicEntry && modules.some((m) => id.endsWith(m))) add(chunk.fileName);
        }
        return [...files].map((file) => ({
          tag: 'link',
          attrs: { rel: 'modulepreload', crossorigin: true, href: `/${file}` },
          injectTo: 'head' as const,
        }));
      },
    },
  };
}
