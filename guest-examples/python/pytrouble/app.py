"""pytrouble (a test module): Python commands that fail in each way the sandbox catches, each
after changing the world, so a test sees the change rolled back."""

import os
import random

from mudhost import CmdSet, Command, cmdset


def mark(inv, what):
    """Change the world and tell the caller, before failing."""
    me = inv.caller
    if me is not None:
        me.set_attr("pytrouble", what)
    inv.msg(f"about to {what}")


class CmdBoom(Command):
    key = "pyboom"

    def func(self, inv):
        mark(inv, "raise")
        raise RuntimeError("pytrouble exploded on purpose")


class CmdSpin(Command):
    key = "pyspin"

    def func(self, inv):
        mark(inv, "spin")
        while True:
            pass


class CmdHog(Command):
    key = "pyhog"

    def func(self, inv):
        mark(inv, "hog")
        hoard = []
        while True:
            hoard.append(bytearray(32 * 1024 * 1024))


class CmdGreedy(Command):
    key = "pygreedy"

    def func(self, inv):
        mark(inv, "draw")
        # 4 MiB in small draws (one big draw would hit the memory cap first).
        for _ in range(1024):
            os.urandom(4096)


class CmdMark(Command):
    key = "pymark"
    help = "Show the pytrouble attribute (what the last command left)."

    def func(self, inv):
        me = inv.caller
        value = None if me is None else me.attr("pytrouble")
        self.msg(f"pytrouble mark: {value}")


class CmdRandom(Command):
    key = "pyrandom"
    help = "Draw numbers from Python's random (the host's deterministic stream)."

    def func(self, inv):
        self.msg(f"random {random.randint(1, 1000000)} urandom {os.urandom(4).hex()}")


class PyTroubleCmdSet(CmdSet):
    key = "PyTroubleCmdSet"
    commands = [CmdBoom, CmdSpin, CmdHog, CmdGreedy, CmdMark, CmdRandom]


Cmdset = cmdset(PyTroubleCmdSet)
