import { main } from './cli';

/** The CLI's entry in the prebuilt dist/ (local/bin/build.mjs); under tsx, local/cli.ts runs itself. */
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
