"""The public transparency board: village pages, map, badge, poster, complaint box, JSON API.

It runs on its own listener in a child process and sees only the public view built here
(netwatch.public.build): never device names, addresses, credentials or internal labels.
"""
