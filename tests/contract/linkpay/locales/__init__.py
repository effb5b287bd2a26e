"""The texts of LinkPay, the contract suite's example provider."""
