export { type Config, loadConfig, SETTINGS, type SettingName } from './config.js';
