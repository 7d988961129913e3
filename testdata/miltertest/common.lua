-- Shared helpers for postseal's miltertest scripts (loaded with dofile).
--
-- miltertest (the MTA side, from OpenDKIM) drives postseal's milter as an
-- independent peer. The scripts are run by TestMiltertest as
--   miltertest -D port=PORT -D dir=TESTDATA/miltertest -s CASE.lua
-- `port` is the milter's port on 127.0.0.1 (in TestMiltertest a relay in
-- front of postseal that only splits body-replacement packets larger than
-- miltertest's 1024-byte buffer, see miltertest_test.go); `dir` is where
-- this file is.
--
-- miltertest does not print the text of error(): every failure is echoed
-- first ("FAIL: ..."), then the script aborts with a non-zero exit status.
-- Each passing check prints "ok: ...", a passing script ends with
-- "PASS <case>".

if port == nil then
	mt.echo("FAIL: run with -D port=MILTER_PORT")
	error("no port")
end

function fail(msg)
	mt.echo("FAIL: " .. msg)
	error(msg)
end

function ok(msg)
	mt.echo("ok: " .. msg)
end

-- step runs one protocol step; miltertest returns nil on success or an
-- error string.
function step(what, err)
	if err ~= nil then
		fail(what .. " failed: " .. tostring(err))
	end
end

local replies = {}
replies[SMFIR_ACCEPT] = "SMFIR_ACCEPT"
replies[SMFIR_CONTINUE] = "SMFIR_CONTINUE"
replies[SMFIR_REJECT] = "SMFIR_REJECT"
replies[SMFIR_TEMPFAIL] = "SMFIR_TEMPFAIL"
replies[SMFIR_DISCARD] = "SMFIR_DISCARD"
if SMFIR_REPLYCODE ~= nil then
	replies[SMFIR_REPLYCODE] = "SMFIR_REPLYCODE"
end

function replyname(r)
	local n = replies[r]
	if n ~= nil then
		return n
	end
	return "reply " .. tostring(r)
end

-- expect_continue fails unless the last reply on conn is CONTINUE (or
-- ACCEPT, which go-milter may send once it has decided).
function expect_continue(conn, what)
	local r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then
		fail(what .. ": expected SMFIR_CONTINUE or SMFIR_ACCEPT, got " .. replyname(r))
	end
end

-- send_message runs one whole transaction up to and including end-of-message
-- and returns the connection. msg = {from=, rcpts={...}, headers={{name,
-- value}, ...}, body=}. Header values are passed as an MTA passes them: with
-- the leading space that followed the colon.
function send_message(msg)
	mt.set_timeout(30)
	local sock = "inet:" .. port .. "@127.0.0.1"
	-- mt.connect raises (rather than returns nil) when it cannot connect
	local okc, conn = pcall(mt.connect, sock, 20, 0.1)
	if not okc or conn == nil then
		fail("cannot connect to " .. sock .. ": " .. tostring(conn))
	end
	mt.macro(conn, SMFIC_CONNECT, "j", "mta.example.org", "{daemon_name}", "MTA",
		"{client_addr}", "127.0.0.1", "{client_name}", "localhost")
	step("mt.conninfo", mt.conninfo(conn, "localhost", "127.0.0.1"))
	expect_continue(conn, "connect")
	step("mt.helo", mt.helo(conn, "client.example.org"))
	mt.macro(conn, SMFIC_MAIL, "i", msg.queueid or "4Xmt0001", "{mail_addr}", msg.from)
	step("mt.mailfrom", mt.mailfrom(conn, "<" .. msg.from .. ">"))
	expect_continue(conn, "MAIL FROM")
	for _, rcpt in ipairs(msg.rcpts) do
		mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", rcpt)
		step("mt.rcptto " .. rcpt, mt.rcptto(conn, "<" .. rcpt .. ">"))
		expect_continue(conn, "RCPT TO " .. rcpt)
	end
	step("mt.data", mt.data(conn))
	for _, h in ipairs(msg.headers) do
		step("mt.header " .. h[1], mt.header(conn, h[1], h[2]))
	end
	step("mt.eoh", mt.eoh(conn))
	step("mt.bodystring", mt.bodystring(conn, msg.body))
	step("mt.eom", mt.eom(conn))
	local r = mt.getreply(conn)
	if r ~= SMFIR_ACCEPT and r ~= SMFIR_CONTINUE then
		fail("end of message: expected SMFIR_ACCEPT or SMFIR_CONTINUE, got " .. replyname(r))
	end
	ok("end of message answered " .. replyname(r))
	return conn
end

-- headers builds a plain text message's header list.
function headers(from, to, subject)
	return {
		{ "From", " Dr. Ada Example <" .. from .. ">" },
		{ "To", " " .. to },
		{ "Subject", " " .. subject },
		{ "Date", " Mon, 23 Nov 2026 15:39:59 +0000" },
		{ "Message-ID", " <miltertest-" .. os.time() .. "@example.org>" },
		{ "MIME-Version", " 1.0" },
		{ "Content-Type", " text/plain; charset=us-ascii" },
		{ "Content-Transfer-Encoding", " 7bit" },
	}
end

-- expect_untouched fails when the filter asked for any modification at all.
-- (miltertest can only look for recipient changes by address, so each of
-- msg.rcpts is checked in both spellings, with and without <>.)
function expect_untouched(conn, msg)
	local checks = {
		{ MT_HDRCHANGE, "a header change" },
		{ MT_HDRINSERT, "a header insert" },
		{ MT_HDRADD, "a header add" },
		{ MT_HDRDELETE, "a header delete" },
		{ MT_BODYCHANGE, "a body replacement" },
		{ MT_QUARANTINE, "quarantine" },
	}
	for _, c in ipairs(checks) do
		if mt.eom_check(conn, c[1]) then
			fail("filter requested " .. c[2] .. " for a message that must pass untouched")
		end
	end
	for _, rcpt in ipairs(msg.rcpts) do
		for _, a in ipairs({ rcpt, "<" .. rcpt .. ">" }) do
			if mt.eom_check(conn, MT_RCPTDELETE, a) then
				fail("filter removed recipient " .. a)
			end
		end
	end
	ok("no modifications requested")
end
