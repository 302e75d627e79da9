export { startHubServer, type HubServer } from './start-hub-server.ts';
export {
  parseHubServerConfig,
  HUB_SERVER_HELP,
  type HubServerConfig,
  type ParsedHubServerConfig,
} from './hub-server-config.ts';
