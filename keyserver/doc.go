// Package keyserver is postseal's key service: the web site a recipient of a
// sealed message talks to. It registers recipients (name, password, an
// activation link by e-mail), releases message keys to the browser decryptor
// (POST /api/v1/envelopes/{id}/key), lets recipients log in, change and reset
// their password, serves the decryptor that linked securedoc pages load
// (GET /decryptor/<SHA-384>.js: CORS, cached for good, the page pins its
// hash) and serves Open Online (POST /open) for mail apps that will not run
// the securedoc's script.
//
// Why it is built the way it is:
//
//   - A message key opens a message that may hold health or financial data,
//     so the key endpoint is the thing attackers aim at. Passwords are
//     Argon2id (memory-hard) and every failed attempt is an audit event;
//     throttling counts those events in the store, so several key-service
//     processes sharing one PostgreSQL throttle together, with a backoff
//     that doubles per failure past the allowance.
//   - The key endpoint never tells whether an address has an account: a
//     missing account, an inactive or disabled one, a wrong password and an
//     address that is not a recipient all get the same bytes, after exactly
//     one Argon2id verification (against a dummy hash when there is no
//     account). Registration and password reset answer the same page in
//     every case and say the rest by e-mail, to the address's owner only.
//   - The securedoc runs from file:// (Origin: null), so the key endpoint
//     answers any origin (CORS *) and uses no cookies: there is no ambient
//     credential a hostile page could ride on. The HTML pages are the
//     opposite: same-origin only (net/http.CrossOriginProtection refuses
//     cross-site form posts), SameSite=Strict cookies, a strict CSP, no
//     framing, no referrer (activation and reset links carry tokens).
//   - Activation and reset tokens are 32 random bytes, stored as SHA-256,
//     single-use and expiring. A GET of a link never consumes it: mail
//     scanners prefetch links, so the page shows a button that POSTs.
//   - Argon2id costs ~19 MiB per computation: concurrent computations are
//     bounded by a semaphore so a burst of logins queues instead of
//     exhausting memory.
package keyserver
