"""Paying with Corefy in the chat: its chat step (:class:`payments.chat.ChatStep`), driven by ``flows.payment``.

It asks nothing: an amount Corefy does not take is explained with a way back to the other methods; otherwise it
opens the attempt and its start job, and the link to the hosted payment page takes the place of "preparing…"
once Corefy answered. Asking again replaces the earlier link (``corefy.why.replaced``). It is the shared step of
hosted links (:mod:`payments.hosted_chat`) in Corefy's words."""

from __future__ import annotations

from payments.corefy import INFO
from payments.hosted_chat import link_step

STEP = link_step(INFO)
