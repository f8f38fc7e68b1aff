// Checks the portal makes before sending (the server checks again).

// A mainland China phone number: 11 digits starting with 1, optionally +86.
export function validPhone(s: string): boolean { return /^(\+86)?1\d{10}$/.test(s.replace(/[\s-]/g, '')); }

// A resident ID card number (GB 11643-1999): 17 digits and a check character, the weighted
// sum of the digits mod 11 mapped through "10X98765432".
export function validIdCard(s: string): boolean {
  const id = s.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(id)) return false;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(id[i]) * weights[i];
  return '10X98765432'[sum % 11] === id[17];
}

// The appointment rule a refusal names: the agent answers "appointment.<rule>.<reason>"
// (libs/appointment-rules, docs/appointment-rules.md "Patient messages").
export function refusedRule(code: string): string | null {
  const m = /^appointment\.([a-z_]+)\.[a-z_]+$/.exec(code);
  return m ? m[1] : null;
}
