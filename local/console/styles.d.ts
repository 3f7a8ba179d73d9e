/** Stylesheets are bundled by esbuild (local/console/build.mjs): importing one only adds it to the page. */
declare module '*.css';
