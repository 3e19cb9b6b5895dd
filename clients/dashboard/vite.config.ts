// The dashboard's build: one hashed script and one stylesheet in assets/, no inline code (the
// server's Content-Security-Policy allows none), written where `paysim serve` serves them from.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  base: "/",
  resolve: {
    // The contract's TypeScript rendering is shared with the TypeScript SDK (one generation,
    // proto/scripts/gen_protos.py); its imports of the runtime resolve to this package's copy.
    alias: { "@gen": here("../typescript/src/gen") },
    dedupe: ["@bufbuild/protobuf"],
  },
  build: {
    outDir: here("../../server/paysim/web/static"),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
