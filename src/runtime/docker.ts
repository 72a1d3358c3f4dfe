/**
 * The one place a dockerode client is made. dockerode reads DOCKER_HOST, DOCKER_TLS_VERIFY and
 * DOCKER_CERT_PATH itself, so a remote or rootless engine works as it does for the docker CLI.
 */
import Docker from 'dockerode';

let shared: Docker | undefined;

export function dockerClient(): Docker {
  shared ??= new Docker();
  return shared;
}
