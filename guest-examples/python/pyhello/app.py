"""pyhello: the smallest Python cmdset, one command answering the caller."""

from mudhost import CmdSet, Command, cmdset

try:  # The v2 build (a test of hot swapping) adds a module with another greeting.
    from greeting_v2 import GREETING
except ImportError:
    GREETING = "Hello"


class CmdPyHello(Command):
    key = "pyhello"
    aliases = ["pyhi"]
    help = "Greet from Python.\n\nUsage:\n  pyhello [name]"

    def func(self, inv):
        who = self.args.strip() or "world"
        self.msg(f"{GREETING} from Python, {who}!")


class PyHelloCmdSet(CmdSet):
    key = "PyHelloCmdSet"
    commands = [CmdPyHello]


Cmdset = cmdset(PyHelloCmdSet)
