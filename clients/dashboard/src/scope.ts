// Which merchant an admin is looking at ("" for the whole platform); merchants' users always
// see their own, whatever this says (the server scopes their calls).
let merchantId = "";

export function scope(): string {
  return merchantId;
}

export function setScope(value: string): void {
  merchantId = value;
}
