"""pyhook: an input hook in Python. A line starting with ';' becomes `pyecho <rest>` (a shortcut,
like Evennia's nick), a line `mute` is swallowed with a reply; everything else passes."""

from mudhost import PASS, CmdSet, Command, InputHook, cmdset, input_hook


class Shortcuts(InputHook):
    def data_in(self, msg, session):
        line = self.text_of(msg)
        if line is None:
            return PASS
        if line.startswith(";"):
            return self.rewrite_text("pyecho " + line[1:])
        if line.strip() == "mute":
            return self.swallow("The Python hook swallowed that.")
        return PASS


class CmdPyEcho(Command):
    key = "pyecho"
    help = "Repeat what you typed (reached with ';' through the hook).\n\nUsage:\n  pyecho <text>"

    def func(self, inv):
        self.msg(f"pyecho heard: {self.args.strip()}")


class PyHookCmdSet(CmdSet):
    key = "PyHookCmdSet"
    commands = [CmdPyEcho]


Cmdset = cmdset(PyHookCmdSet)
InputHook = input_hook(Shortcuts)
