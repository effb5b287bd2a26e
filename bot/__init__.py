"""The chat side: the channel contract (``bot.channel``), its registry (``bot.channels``), what every channel shares
(the update processor, the paced replier, the poller, proof fingerprints), and one folder per implementation
(``bot/aiogram``, ``bot/ptb``). Only those folders import a chat library."""
