"""pyclass: a session class in Python (Evennia's SERVER_SESSION_CLASS). It greets every session
that logs in and marks the output of the `pyclassmark` command on its way out."""

from mudhost import CmdSet, Command, SessionClass, cmdset, host, session_class


class Greeter(SessionClass):
    def at_login(self, session):
        host.msg_session(session.sessid, "A Python session class greets you.")

    def data_out(self, session, messages):
        out = []
        for m in messages:
            if m.cmdname == "text" and "pyclassmark" in m.args:
                m = type(m)(cmdname=m.cmdname, args=m.args.replace("pyclassmark", "marked by the session class"), kwargs=m.kwargs)
            out.append(m)
        return out


class CmdMark(Command):
    key = "pyclassmark"
    help = "Send a text the session class rewrites on its way out."

    def func(self, inv):
        self.msg("pyclassmark")


class PyClassCmdSet(CmdSet):
    key = "PyClassCmdSet"
    commands = [CmdMark]


Cmdset = cmdset(PyClassCmdSet)
SessionClass = session_class(Greeter)
