"""Paying with Flutterwave in the chat: its chat step (:class:`payments.chat.ChatStep`), driven by ``flows.payment``.

It asks nothing: an amount Flutterwave does not take is explained with a way back to the other methods; otherwise it
opens the attempt and its start job, and the hosted link takes the place of "preparing your link…" once Flutterwave
answered. Asking again replaces the earlier link (``flutterwave.why.replaced``). It is the shared step of hosted
links (:mod:`payments.hosted_chat`) in Flutterwave's words."""

from __future__ import annotations

from payments.flutterwave import INFO
from payments.hosted_chat import link_step

STEP = link_step(INFO)
