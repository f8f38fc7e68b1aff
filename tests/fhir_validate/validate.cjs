// Validates FHIR resources against the R4 structure definitions and value sets, with npm
// `fhir` (FHIR.js, pinned in package-lock.json beside this file; its R4 definitions ship in
// the package, so it runs offline). Used by the FHIR system test (docs/fhir.md, "R4
// validation"):
//
//   node tests/fhir_validate/validate.cjs <dir>
//
// validates every <dir>/*.json (a resource; a Bundle's entries are validated too, each on
// its own), prints one line per message ("file: severity location: message"), and exits 1
// when any message is of severity error (warnings are printed, not failed), 2 when it
// cannot read a file or finds none.
'use strict';
const fs = require('fs');
const path = require('path');
const { Fhir, Versions } = require('fhir');
const { ParseConformance } = require('fhir/parseConformance');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node validate.cjs <dir of *.json resources>');
  process.exit(2);
}
const fhir = new Fhir(new ParseConformance(true, Versions.R4));
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) {
  console.error(`no *.json in ${dir}`);
  process.exit(2);
}
let errors = 0;
let checked = 0;
const check = (name, resource) => {
  checked += 1;
  const outcome = fhir.validate(resource, { errorOnUnexpected: false });
  for (const m of outcome.messages || []) {
    if (m.severity === 'error') errors += 1;
    console.log(`${name}: ${m.severity} ${m.location}: ${m.message}`);
  }
};
for (const f of files) {
  let resource;
  try {
    resource = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  } catch (e) {
    console.error(`${f}: not JSON: ${e.message}`);
    process.exit(2);
  }
  check(f, resource);
  if (resource.resourceType === 'Bundle')
    (resource.entry || []).forEach((e, i) => e.resource && check(`${f}#entry[${i}]`, e.resource));
}
console.log(`validated ${checked} resources in ${files.length} files against FHIR R4: ${errors} errors`);
process.exit(errors > 0 ? 1 : 0);
