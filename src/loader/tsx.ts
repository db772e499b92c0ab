/**
 * tsx is registered once, and only when a TypeScript file is about to load, so plain-JS
 * users and `celeryts call` without task modules never pay for it.
 */
let registered: Promise<void> | undefined;

/** Make `import()` of .ts/.mts/.cts files work, for ESM and CommonJS packages alike. */
export function ensureTsx(): Promise<void> {
  registered ??= (async () => {
    const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    esm.register();
    cjs.register();
  })();
  return registered;
}

/** Has ensureTsx() registered tsx in this process (so TypeScript files load through it)? */
export function tsxRegistered(): boolean {
  return registered !== undefined;
}
