// Production builds need nothing. The dev server's dependency pre-bundling would move the
// package's modules away from its workers and .wasm, so the package is left out of it.
export default {
  optimizeDeps: { exclude: ["cinelock"] },
  build: { outDir: "dist", emptyOutDir: true },
};
