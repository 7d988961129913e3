-- (b) No trigger, external recipient: the message passes untouched.
dofile(dir .. "/common.lua")

local msg = {
	from = "ada@example.org",
	rcpts = { "patient@example.net" },
	headers = headers("ada@example.org", "patient@example.net", "Palliative care consult"),
	body = "Dear colleague,\r\n\r\nThe palliative care consult is booked for Tuesday.\r\n",
}
local conn = send_message(msg)
expect_untouched(conn, msg)
mt.disconnect(conn)
mt.echo("PASS plain-external")
