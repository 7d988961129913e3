-- (a) "*secure*" in the subject, one external recipient: postseal must seal
-- the message — subject rewritten, envelope header inserted, body replaced.
dofile(dir .. "/common.lua")

local conn = send_message({
	from = "ada@example.org",
	rcpts = { "patient@example.net" },
	headers = headers("ada@example.org", "patient@example.net", "*secure* Palliative care consult"),
	body = "Dear colleague,\r\n\r\nThe palliative care consult is booked for Tuesday.\r\n",
})

local want = " Palliative care consult [-Encrypted-]"
if not mt.eom_check(conn, MT_HDRCHANGE, "Subject", want) then
	if mt.eom_check(conn, MT_HDRCHANGE, "Subject") then
		fail("Subject changed, but not to \"" .. want .. "\"")
	end
	fail("Subject not changed (want \"" .. want .. "\")")
end
ok("Subject changed to \"" .. want .. "\"")

if not mt.eom_check(conn, MT_HDRINSERT, "X-Postseal-Envelope") then
	if mt.eom_check(conn, MT_HDRADD, "X-Postseal-Envelope") then
		fail("X-Postseal-Envelope was added (SMFIR_ADDHEADER), expected an insert (SMFIR_INSHEADER)")
	end
	fail("no X-Postseal-Envelope header inserted")
end
local id = mt.getheader(conn, "X-Postseal-Envelope", 0)
if id == nil or string.match(id, "^%s*$") then
	fail("X-Postseal-Envelope inserted with an empty value")
end
id = string.match(id, "^%s*(.-)%s*$")
ok("X-Postseal-Envelope inserted")
mt.echo("envelope-id: " .. id)

local ct = false
for _, op in ipairs({ MT_HDRCHANGE, MT_HDRINSERT, MT_HDRADD }) do
	if mt.eom_check(conn, op, "Content-Type") then
		ct = true
	end
end
if not ct then
	fail("Content-Type not replaced (the sealed body is multipart/mixed)")
end
ok("Content-Type replaced")

if not mt.eom_check(conn, MT_BODYCHANGE) then
	fail("body not replaced")
end
ok("body replaced")

for _, a in ipairs({ "patient@example.net", "<patient@example.net>" }) do
	if mt.eom_check(conn, MT_RCPTDELETE, a) then
		fail("the only (external) recipient was removed")
	end
end

mt.disconnect(conn)
mt.echo("PASS secure-external")
