// ProxyRuntime
