/** NOTIFY channel on which a projection announces, at commit, that the read model moved on. */
export const readModelAdvancedChannel = "read_model_advanced";
