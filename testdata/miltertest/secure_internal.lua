-- (c) "*secure*" in the subject but internal recipients only (example.org and
-- a subdomain): internal mail is never sealed, the message passes untouched.
dofile(dir .. "/common.lua")

local msg = {
	from = "ada@example.org",
	rcpts = { "bob@example.org", "carol@ward.example.org" },
	headers = headers("ada@example.org", "bob@example.org, carol@ward.example.org", "*SECURE* Palliative care consult"),
	body = "Dear colleagues,\r\n\r\nThe palliative care consult is booked for Tuesday.\r\n",
}
local conn = send_message(msg)
expect_untouched(conn, msg)
mt.disconnect(conn)
mt.echo("PASS secure-internal")
