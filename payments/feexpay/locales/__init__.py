"""The texts of FeexPay, in English and French: its payment button, the phone and network question, started
messages and refusals."""
