"""pysay: the example character's `say`, in Python (guest-examples/character's Say)."""

from mudhost import CmdSet, Command, CommandError, cmdset


class CmdSay(Command):
    key = "say"
    aliases = ['"', "'"]
    help = (
        "Speak as your character.\n\nUsage:\n  say <message>\n\n"
        "Talk to those in your current location."
    )

    def func(self, inv):
        me = self.caller
        if me is None:
            raise CommandError("You are not puppeting anyone.")
        speech = self.args.strip()
        if not speech:
            raise CommandError("Say what?")
        me.msg(f'You say, "{speech}"')
        room = me.location
        if room is not None:
            room.msg_contents(f'{me.name} says, "{speech}"', exclude=[me])


class PySayCmdSet(CmdSet):
    key = "PySayCmdSet"
    # Above the character's own set (priority 0), so its `say` is the one that runs.
    priority = 1
    commands = [CmdSay]


Cmdset = cmdset(PySayCmdSet)
