// Nothing cinelock-specific: webpack 5 bundles `new Worker(new URL(..., import.meta.url))` and
// emits `new URL("x.wasm", import.meta.url)` as an asset by itself.
const path = require("node:path");
const HtmlWebpackPlugin = require("html-webpack-plugin");

module.exports = {
  entry: "./src/main.js",
  output: { path: path.resolve(__dirname, "dist"), filename: "[name].[contenthash].js", clean: true },
  plugins: [new HtmlWebpackPlugin({ template: "./src/index.html" })],
};
