"""fediverse-intranet: a self-hostable, federated social intranet for government bodies."""
