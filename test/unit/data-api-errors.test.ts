import {
  BadRequestException,
  DatabaseErrorException,
  DatabaseResumingException,
  DatabaseUnavailableException,
  ForbiddenException,
  ServiceUnavailableError,
  StatementTimeoutException,
  TransactionNotFoundException,
} from '@aws-sdk/client-rds-data';
import { describe, expect, it } from 'vitest';
import {
  DatabaseError,
  MigrationChecksumError,
  TenantBusyError,
  TransientDatabaseError,
} from '../../shared/errors';
import { mapControlError } from '../../shared/registry/control';
import { mapDataApiError, parseSqlStateMessage } from '../../shared/sql/data-api-wire';

const $metadata = { httpStatusCode: 400 };

describe('mapDataApiError', () => {
  it('keeps the Postgres message and the SQLSTATE the service appends to a BadRequestException', () => {
    const error = mapDataApiError(
      new BadRequestException({
        message: 'ERROR: relation "no_such" does not exist\n  Position: 15; SQLState: 42P01',
        $metadata,
      }),
    );
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).not.toBeInstanceOf(TransientDatabaseError);
    expect(error).toMatchObject({ code: '42P01', message: 'relation "no_such" does not exist' });
    expect(error.cause).toBeInstanceOf(BadRequestException);
  });

  it("lets the control schema's TY codes reach mapControlError as typed errors", () => {
    const busy = mapDataApiError(
      new BadRequestException({
        message:
          'ERROR: tenant acme is held by execution arn:aws:states:x:1 (status provisioning)\n  Detail: arn:aws:states:x:1; SQLState: TY001',
        $metadata,
      }),
    );
    expect(busy.code).toBe('TY001');
    expect(busy).toMatchObject({ detail: 'arn:aws:states:x:1' });
    const typed = mapControlError(busy, 'acme');
    expect(typed).toBeInstanceOf(TenantBusyError);
    expect((typed as TenantBusyError).ownerExecutionId).toBe('arn:aws:states:x:1');
    const changed = mapDataApiError(
      new DatabaseErrorException({
        message: 'ERROR: migration 0001 was changed; SQLState: TY002',
        $metadata,
      }),
    );
    expect(mapControlError(changed, 'acme')).toBeInstanceOf(MigrationChecksumError);
  });

  it.each([
    [
      'a resuming Aurora Serverless v2 cluster',
      new DatabaseResumingException({ message: 'resuming', $metadata }),
    ],
    [
      'an unavailable database',
      new DatabaseUnavailableException({ message: 'unavailable', $metadata: { httpStatusCode: 504 } }),
    ],
    [
      'service throttling',
      new ServiceUnavailableError({ message: 'throttled', $metadata: { httpStatusCode: 503 } }),
    ],
    ['a statement timeout', new StatementTimeoutException({ message: 'Request timed out', $metadata })],
    [
      'an expired transaction',
      new TransactionNotFoundException({ message: 'Transaction x is not found', $metadata }),
    ],
    [
      'a serialization failure',
      new BadRequestException({ message: 'ERROR: could not serialize access; SQLState: 40001', $metadata }),
    ],
    [
      'a lost connection reported in a BadRequestException',
      new BadRequestException({ message: 'Communications link failure', $metadata }),
    ],
    ['a dropped socket', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    [
      'throttling by status',
      Object.assign(new Error('slow down'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      }),
    ],
    ['any 5xx', Object.assign(new Error('oops'), { name: 'Whatever', $metadata: { httpStatusCode: 502 } })],
  ])('%s is transient', (_, thrown) => {
    expect(mapDataApiError(thrown)).toBeInstanceOf(TransientDatabaseError);
  });

  it.each([
    [
      'the response size limit',
      new BadRequestException({
        message: 'Database returned more than the allowed response size limit',
        $metadata,
      }),
    ],
    [
      'a syntax error',
      new BadRequestException({ message: 'ERROR: syntax error at or near "x"; SQLState: 42601', $metadata }),
    ],
    ['access denied', new ForbiddenException({ message: 'not allowed', $metadata: { httpStatusCode: 403 } })],
  ])('%s is permanent', (_, thrown) => {
    const error = mapDataApiError(thrown);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).not.toBeInstanceOf(TransientDatabaseError);
  });

  it('passes already-mapped errors through', () => {
    const mapped = new DatabaseError('x', '23505');
    expect(mapDataApiError(mapped)).toBe(mapped);
  });
});

describe('parseSqlStateMessage', () => {
  it('takes the first line without the severity, the DETAIL and the code', () => {
    expect(
      parseSqlStateMessage('ERROR: duplicate key\n  Detail: Key (id)=(1) exists.; SQLState: 23505'),
    ).toEqual({
      message: 'duplicate key',
      code: '23505',
      detail: 'Key (id)=(1) exists.',
    });
    expect(parseSqlStateMessage('no state here')).toEqual({
      message: 'no state here',
      code: undefined,
      detail: undefined,
    });
  });
});
