// StatsServer
