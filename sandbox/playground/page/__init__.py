"""The playground's page: the customer's and the merchant's phones, the payment pages and what happens underneath,
served by the playground's own aiohttp server (never the shop's) and kept up to date over server-sent events."""
