"""coldstart profile: a cold start under py-spy, pyinstrument and -X importtime."""
