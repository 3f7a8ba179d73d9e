--
-- school-erp: initial schema.
--
-- Written relative to the tenant schema (the runner sets search_path): no object below is
-- schema-qualified. Trigger functions that touch other tables build the name from
-- TG_TABLE_SCHEMA, so they work whatever the caller's search_path is.
--

--
-- Types
--

CREATE TYPE gender_type AS ENUM (
    'male',
    'female',
    'other',
    'undisclosed'
);

CREATE TYPE user_status AS ENUM (
    'pending',
    'active',
    'suspended',
    'locked',
    'deactivated'
);

CREATE TYPE student_status AS ENUM (
    'applicant',
    'active',
    'inactive',
    'graduated',
    'transferred',
    'withdrawn'
);

CREATE TYPE attendance_status AS ENUM (
    'present',
    'absent',
    'late',
    'half_day',
    'excused',
    'on_leave'
);

CREATE TYPE leave_status AS ENUM (
    'pending',
    'approved',
    'rejected',
    'cancelled'
);

CREATE TYPE exam_type AS ENUM (
    'unit_test',
    'midterm',
    'final',
    'practical',
    'assignment',
    'quiz'
);

CREATE TYPE exam_status AS ENUM (
    'draft',
    'scheduled',
    'ongoing',
    'completed',
    'results_published',
    'cancelled'
);

CREATE TYPE weekday AS ENUM (
    'monday',
    'tuesday',
    'wednesday',
    'thursday',
    'friday',
    'saturday',
    'sunday'
);

--
-- Domains
--

CREATE DOMAIN email_address AS text
    CONSTRAINT email_address_check CHECK (VALUE ~* '^[^@\s]+@[^@\s]+\.[^@\s]+$');

CREATE DOMAIN phone_number AS text
    CONSTRAINT phone_number_check CHECK (VALUE ~ '^\+?[0-9][0-9 ()-]{5,19}$');

CREATE DOMAIN percentage AS numeric(5,2)
    CONSTRAINT percentage_check CHECK (VALUE >= 0 AND VALUE <= 100);

--
-- Sequences
--

CREATE SEQUENCE student_admission_no_seq
    AS bigint
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Functions
--

CREATE FUNCTION set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION attendance_percentage(attended numeric, total numeric) RETURNS numeric
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    IF total IS NULL OR total <= 0 THEN
        RETURN NULL;
    END IF;
    RETURN round(100.0 * COALESCE(attended, 0) / total, 2);
END;
$$;

CREATE FUNCTION stamp_academic_session_lock() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.is_locked AND NOT OLD.is_locked THEN
        NEW.locked_at := now();
    ELSIF OLD.is_locked AND NOT NEW.is_locked THEN
        NEW.locked_at := NULL;
        NEW.locked_by := NULL;
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION log_academic_session_lock() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.is_locked IS DISTINCT FROM OLD.is_locked THEN
        EXECUTE format(
            'INSERT INTO %I.session_lock_logs (academic_session_id, action, performed_by) VALUES ($1, $2, $3)',
            TG_TABLE_SCHEMA)
        USING NEW.id,
              CASE WHEN NEW.is_locked THEN 'lock' ELSE 'unlock' END,
              CASE WHEN NEW.is_locked THEN NEW.locked_by ELSE OLD.locked_by END;
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION prevent_locked_session_changes() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_session_id bigint;
    v_locked boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_session_id := OLD.academic_session_id;
    ELSE
        v_session_id := NEW.academic_session_id;
    END IF;

    EXECUTE format('SELECT is_locked FROM %I.academic_sessions WHERE id = $1', TG_TABLE_SCHEMA)
        INTO v_locked
        USING v_session_id;

    IF v_locked THEN
        RAISE EXCEPTION 'academic session % is locked; % on % is not allowed', v_session_id, TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;

CREATE FUNCTION log_student_attendance_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_sql text := format(
        'INSERT INTO %I.attendance_audit_logs'
        ' (student_attendance_id, student_id, attendance_date, period_id, action, old_status, new_status, changed_by)'
        ' VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        TG_TABLE_SCHEMA);
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE v_sql
            USING NEW.id, NEW.student_id, NEW.attendance_date, NEW.period_id, TG_OP,
                  NULL::attendance_status, NEW.status, NEW.marked_by;
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.status IS DISTINCT FROM OLD.status THEN
            EXECUTE v_sql
                USING NEW.id, NEW.student_id, NEW.attendance_date, NEW.period_id, TG_OP,
                      OLD.status, NEW.status, NEW.marked_by;
        END IF;
        RETURN NEW;
    END IF;

    -- DELETE: the attendance row is gone, keep the copy without the reference.
    EXECUTE v_sql
        USING NULL::bigint, OLD.student_id, OLD.attendance_date, OLD.period_id, TG_OP,
              OLD.status, NULL::attendance_status, NULL::bigint;
    RETURN OLD;
END;
$$;

CREATE FUNCTION assign_mark_grade() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_max_marks numeric;
    v_percentage numeric;
    v_grade_id bigint;
BEGIN
    IF NEW.is_absent OR NEW.marks_obtained IS NULL THEN
        NEW.grade_id := NULL;
        RETURN NEW;
    END IF;

    EXECUTE format('SELECT max_marks FROM %I.exam_schedules WHERE id = $1', TG_TABLE_SCHEMA)
        INTO v_max_marks
        USING NEW.exam_schedule_id;

    IF v_max_marks IS NULL OR v_max_marks <= 0 THEN
        RETURN NEW;
    END IF;

    IF NEW.marks_obtained > v_max_marks THEN
        RAISE EXCEPTION 'marks_obtained % exceeds max_marks % of exam schedule %',
            NEW.marks_obtained, v_max_marks, NEW.exam_schedule_id
            USING ERRCODE = 'check_violation';
    END IF;

    v_percentage := round(100.0 * NEW.marks_obtained / v_max_marks, 2);

    EXECUTE format(
        'SELECT id FROM %I.grades WHERE $1 BETWEEN min_percentage AND max_percentage ORDER BY min_percentage DESC LIMIT 1',
        TG_TABLE_SCHEMA)
        INTO v_grade_id
        USING v_percentage;

    NEW.grade_id := v_grade_id;
    RETURN NEW;
END;
$$;

--
-- Core: schools, identity and access
--

CREATE TABLE schools (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    code text NOT NULL,
    name text NOT NULL,
    affiliation_board text,
    affiliation_number text,
    address_line1 text,
    address_line2 text,
    city text,
    state text,
    postal_code text,
    country text,
    phone phone_number,
    email email_address,
    website text,
    principal_name text,
    established_year smallint,
    timezone text DEFAULT 'UTC' NOT NULL,
    logo_url text,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT schools_pkey PRIMARY KEY (id),
    CONSTRAINT schools_code_key UNIQUE (code),
    CONSTRAINT schools_established_year_check CHECK (established_year BETWEEN 1800 AND 2100)
);

CREATE TABLE roles (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    name text NOT NULL,
    display_name text NOT NULL,
    description text,
    is_system boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT roles_pkey PRIMARY KEY (id),
    CONSTRAINT roles_name_key UNIQUE (name),
    CONSTRAINT roles_name_check CHECK (name ~ '^[a-z][a-z0-9_]*$')
);

CREATE TABLE users (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    school_id bigint,
    email email_address NOT NULL,
    username text,
    password_hash text,
    first_name text NOT NULL,
    last_name text,
    phone phone_number,
    avatar_url text,
    status user_status DEFAULT 'pending' NOT NULL,
    email_verified_at timestamp with time zone,
    last_login_at timestamp with time zone,
    password_changed_at timestamp with time zone,
    must_change_password boolean DEFAULT false NOT NULL,
    mfa_enabled boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_school_id_fkey FOREIGN KEY (school_id) REFERENCES schools(id) ON DELETE SET NULL
);

CREATE TABLE user_roles (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    user_id bigint NOT NULL,
    role_id bigint NOT NULL,
    assigned_by bigint,
    assigned_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT user_roles_pkey PRIMARY KEY (id),
    CONSTRAINT user_roles_user_id_role_id_key UNIQUE (user_id, role_id),
    CONSTRAINT user_roles_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
    CONSTRAINT user_roles_role_id_fkey FOREIGN KEY (role_id) REFERENCES roles(id) ON DELETE CASCADE,
    CONSTRAINT user_roles_assigned_by_fkey FOREIGN KEY (assigned_by) REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE admin_permissions (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    permission text NOT NULL,
    module text NOT NULL,
    action text NOT NULL,
    description text,
    is_sensitive boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT admin_permissions_pkey PRIMARY KEY (id),
    CONSTRAINT admin_permissions_permission_key UNIQUE (permission),
    CONSTRAINT admin_permissions_permission_check CHECK (permission ~ '^[a-z_]+:[a-z_]+$'),
    CONSTRAINT admin_permissions_permission_parts_check CHECK (permission = module || ':' || action)
);

COMMENT ON TABLE admin_permissions IS 'Catalog of permission keys (module:action) that administrators can grant to roles and users.';

CREATE TABLE role_permissions (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    role_id bigint NOT NULL,
    permission text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT role_permissions_pkey PRIMARY KEY (id),
    CONSTRAINT role_permissions_role_id_permission_key UNIQUE (role_id, permission),
    CONSTRAINT role_permissions_role_id_fkey FOREIGN KEY (role_id) REFERENCES roles(id) ON DELETE CASCADE,
    CONSTRAINT role_permissions_permission_fkey FOREIGN KEY (permission) REFERENCES admin_permissions(permission) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE user_permissions (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    user_id bigint NOT NULL,
    permission text NOT NULL,
    effect text DEFAULT 'grant' NOT NULL,
    reason text,
    granted_by bigint,
    expires_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT user_permissions_pkey PRIMARY KEY (id),
    CONSTRAINT user_permissions_user_id_permission_key UNIQUE (user_id, permission),
    CONSTRAINT user_permissions_effect_check CHECK (effect IN ('grant', 'deny')),
    CONSTRAINT user_permissions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
    CONSTRAINT user_permissions_permission_fkey FOREIGN KEY (permission) REFERENCES admin_permissions(permission) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT user_permissions_granted_by_fkey FOREIGN KEY (granted_by) REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE tenant_role_configs (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    role_id bigint NOT NULL,
    landing_page text DEFAULT '/dashboard' NOT NULL,
    can_login boolean DEFAULT true NOT NULL,
    mfa_required boolean DEFAULT false NOT NULL,
    session_timeout_minutes integer DEFAULT 60 NOT NULL,
    max_concurrent_sessions integer DEFAULT 3 NOT NULL,
    settings jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tenant_role_configs_pkey PRIMARY KEY (id),
    CONSTRAINT tenant_role_configs_role_id_key UNIQUE (role_id),
    CONSTRAINT tenant_role_configs_session_timeout_minutes_check CHECK (session_timeout_minutes > 0),
    CONSTRAINT tenant_role_configs_max_concurrent_sessions_check CHECK (max_concurrent_sessions > 0),
    CONSTRAINT tenant_role_configs_settings_check CHECK (jsonb_typeof(settings) = 'object'),
    CONSTRAINT tenant_role_configs_role_id_fkey FOREIGN KEY (role_id) REFERENCES roles(id) ON DELETE CASCADE
);

CREATE TABLE sessions (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    user_id bigint NOT NULL,
    token_hash text NOT NULL,
    ip_address inet,
    user_agent text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_activity_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    revoke_reason text,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT sessions_expires_at_check CHECK (expires_at > created_at),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
);

CREATE TABLE refresh_tokens (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    user_id bigint NOT NULL,
    session_id bigint,
    token_hash text NOT NULL,
    issued_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    replaced_by_token_id bigint,
    created_ip inet,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_tokens_expires_at_check CHECK (expires_at > issued_at),
    CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
    CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id) REFERENCES sessions(id) ON DELETE CASCADE,
    CONSTRAINT refresh_tokens_replaced_by_token_id_fkey FOREIGN KEY (replaced_by_token_id) REFERENCES refresh_tokens(id) ON DELETE SET NULL
);

CREATE TABLE audit_logs (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    user_id bigint,
    action text NOT NULL,
    entity_type text NOT NULL,
    entity_id text,
    old_values jsonb,
    new_values jsonb,
    ip_address inet,
    user_agent text,
    request_id text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT audit_logs_pkey PRIMARY KEY (id),
    CONSTRAINT audit_logs_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE failed_logins (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    email text NOT NULL,
    user_id bigint,
    ip_address inet,
    user_agent text,
    reason text DEFAULT 'invalid_credentials' NOT NULL,
    attempted_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT failed_logins_pkey PRIMARY KEY (id),
    CONSTRAINT failed_logins_reason_check CHECK (reason IN ('invalid_credentials', 'unknown_user', 'account_locked', 'account_inactive', 'mfa_failed', 'rate_limited')),
    CONSTRAINT failed_logins_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE SET NULL
);

--
-- Academics: sessions, terms, holidays
--

CREATE TABLE academic_sessions (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    school_id bigint NOT NULL,
    name text NOT NULL,
    start_date date NOT NULL,
    end_date date NOT NULL,
    is_current boolean DEFAULT false NOT NULL,
    is_locked boolean DEFAULT false NOT NULL,
    locked_at timestamp with time zone,
    locked_by bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT academic_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT academic_sessions_school_id_name_key UNIQUE (school_id, name),
    CONSTRAINT academic_sessions_dates_check CHECK (end_date > start_date),
    CONSTRAINT academic_sessions_school_id_fkey FOREIGN KEY (school_id) REFERENCES schools(id) ON DELETE CASCADE,
    CONSTRAINT academic_sessions_locked_by_fkey FOREIGN KEY (locked_by) REFERENCES users(id) ON DELETE SET NULL
);

CREATE UNIQUE INDEX academic_sessions_one_current_per_school ON academic_sessions USING btree (school_id) WHERE is_current;

CREATE TABLE academic_terms (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    academic_session_id bigint NOT NULL,
    name text NOT NULL,
    term_no smallint NOT NULL,
    start_date date NOT NULL,
    end_date date NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT academic_terms_pkey PRIMARY KEY (id),
    CONSTRAINT academic_terms_academic_session_id_name_key UNIQUE (academic_session_id, name),
    CONSTRAINT academic_terms_academic_session_id_term_no_key UNIQUE (academic_session_id, term_no),
    CONSTRAINT academic_terms_term_no_check CHECK (term_no > 0),
    CONSTRAINT academic_terms_dates_check CHECK (end_date > start_date),
    CONSTRAINT academic_terms_academic_session_id_fkey FOREIGN KEY (academic_session_id) REFERENCES academic_sessions(id) ON DELETE CASCADE
);

CREATE TABLE session_lock_logs (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    academic_session_id bigint NOT NULL,
    action text NOT NULL,
    reason text,
    performed_by bigint,
    performed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT session_lock_logs_pkey PRIMARY KEY (id),
    CONSTRAINT session_lock_logs_action_check CHECK (action IN ('lock', 'unlock')),
    CONSTRAINT session_lock_logs_academic_session_id_fkey FOREIGN KEY (academic_session_id) REFERENCES academic_sessions(id) ON DELETE CASCADE,
    CONSTRAINT session_lock_logs_performed_by_fkey FOREIGN KEY (performed_by) REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE master_holidays (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    name text NOT NULL,
    holiday_month smallint NOT NULL,
    holiday_day smallint NOT NULL,
    holiday_type text DEFAULT 'public' NOT NULL,
    is_recurring boolean DEFAULT true NOT NULL,
    description text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT master_holidays_pkey PRIMARY KEY (id),
    CONSTRAINT master_holidays_month_day_name_key UNIQUE (holiday_month, holiday_day, name),
    CONSTRAINT master_holidays_holiday_month_check CHECK (holiday_month BETWEEN 1 AND 12),
    CONSTRAINT master_holidays_holiday_day_check CHECK (holiday_day BETWEEN 1 AND 31),
    CONSTRAINT master_holidays_holiday_type_check CHECK (holiday_type IN ('public', 'religious', 'school', 'optional'))
);

CREATE TABLE session_holidays (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    academic_session_id bigint NOT NULL,
    master_holiday_id bigint,
    name text NOT NULL,
    start_date date NOT NULL,
    end_date date NOT NULL,
    holiday_type text DEFAULT 'public' NOT NULL,
    staff_working_day boolean DEFAULT false NOT NULL,
    description text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT session_holidays_pkey PRIMARY KEY (id),
    CONSTRAINT session_holidays_session_name_start_key UNIQUE (academic_session_id, name, start_date),
    CONSTRAINT session_holidays_dates_check CHECK (end_date >= start_date),
    CONSTRAINT session_holidays_holiday_type_check CHECK (holiday_type IN ('public', 'religious', 'school', 'optional', 'vacation')),
    CONSTRAINT session_holidays_academic_session_id_fkey FOREIGN KEY (academic_session_id) REFERENCES academic_sessions(id) ON DELETE CASCADE,
    CONSTRAINT session_holidays_master_holiday_id_fkey FOREIGN KEY (master_holiday_id) REFERENCES master_holidays(id) ON DELETE SET NULL
);

--
-- Teachers
--

CREATE TABLE teachers (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    school_id bigint NOT NULL,
    user_id bigint,
    employee_code text NOT NULL,
    first_name text NOT NULL,
    middle_name text,
    last_name text,
    gender gender_type,
    date_of_birth date,
    email email_address,
    phone phone_number,
    qualification text,
    specialization text,
    experience_years smallint,
    joining_date date NOT NULL,
    leaving_date date,
    employment_type text DEFAULT 'full_time' NOT NULL,
    status text DEFAULT 'active' NOT NULL,
    address text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT teachers_pkey PRIMARY KEY (id),
    CONSTRAINT teachers_school_id_employee_code_key UNIQUE (school_id, employee_code),
    CONSTRAINT teachers_user_id_key UNIQUE (user_id),
    CONSTRAINT teachers_experience_years_check CHECK (experience_years >= 0),
    CONSTRAINT teachers_dates_check CHECK (leaving_date IS NULL OR leaving_date >= joining_date),
    CONSTRAINT teachers_employment_type_check CHECK (employment_type IN ('full_time', 'part_time', 'contract', 'visiting')),
    CONSTRAINT teachers_status_check CHECK (status IN ('active', 'on_leave', 'resigned', 'retired', 'terminated')),
    CONSTRAINT teachers_school_id_fkey FOREIGN KEY (school_id) REFERENCES schools(id) ON DELETE RESTRICT,
    CONSTRAINT teachers_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE SET NULL
);

--
-- Academics: classes, subjects, curriculum
--

CREATE TABLE classes (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    school_id bigint NOT NULL,
    name text NOT NULL,
    numeric_level smallint,
    display_order smallint DEFAULT 0 NOT NULL,
    description text,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT classes_pkey PRIMARY KEY (id),
    CONSTRAINT classes_school_id_name_key UNIQUE (school_id, name),
    CONSTRAINT classes_school_id_fkey FOREIGN KEY (school_id) REFERENCES schools(id) ON DELETE CASCADE
);

CREATE TABLE sections (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    class_id bigint NOT NULL,
    name text NOT NULL,
    class_teacher_id bigint,
    room_no text,
    capacity smallint,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT sections_pkey PRIMARY KEY (id),
    CONSTRAINT sections_class_id_name_key UNIQUE (class_id, name),
    CONSTRAINT sections_capacity_check CHECK (capacity > 0),
    CONSTRAINT sections_class_id_fkey FOREIGN KEY (class_id) REFERENCES classes(id) ON DELETE CASCADE,
    CONSTRAINT sections_class_teacher_id_fkey FOREIGN KEY (class_teacher_id) REFERENCES teachers(id) ON DELETE SET NULL
);

CREATE TABLE subjects (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    school_id bigint NOT NULL,
    code text NOT NULL,
    name text NOT NULL,
    subject_type text DEFAULT 'theory' NOT NULL,
    is_elective boolean DEFAULT false NOT NULL,
    description text,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT subjects_pkey PRIMARY KEY (id),
    CONSTRAINT subjects_school_id_code_key UNIQUE (school_id, code),
    CONSTRAINT subjects_subject_type_check CHECK (subject_type IN ('theory', 'practical', 'theory_practical', 'activity')),
    CONSTRAINT subjects_school_id_fkey FOREIGN KEY (school_id) REFERENCES schools(id) ON DELETE CASCADE
);

CREATE TABLE class_subjects (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    academic_session_id bigint NOT NULL,
    class_id bigint NOT NULL,
    subject_id bigint NOT NULL,
    teacher_id bigint,
    is_optional boolean DEFAULT false NOT NULL,
    periods_per_week smallint DEFAULT 0 NOT NULL,
    max_marks numeric(6,2) DEFAULT 100 NOT NULL,
    pass_marks numeric(6,2) DEFAULT 33 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT class_subjects_pkey PRIMARY KEY (id),
    CONSTRAINT class_subjects_session_class_subject_key UNIQUE (academic_session_id, class_id, subject_id),
    CONSTRAINT class_subjects_periods_per_week_check CHECK (periods_per_week >= 0),
    CONSTRAINT class_subjects_marks_check CHECK (max_marks > 0 AND pass_marks >= 0 AND pass_marks <= max_marks),
    CONSTRAINT class_subjects_academic_session_id_fkey FOREIGN KEY (academic_session_id) REFERENCES academic_sessions(id) ON DELETE CASCADE,
    CONSTRAINT class_subjects_class_id_fkey FOREIGN KEY (class_id) REFERENCES classes(id) ON DELETE CASCADE,
    CONSTRAINT class_subjects_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subjects(id) ON DELETE RESTRICT,
    CONSTRAINT class_subjects_teacher_id_fkey FOREIGN KEY (teacher_id) REFERENCES teachers(id) ON DELETE SET NULL
);

CREATE TABLE chapters (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    subject_id bigint NOT NULL,
    class_id bigint NOT NULL,
    chapter_no smallint NOT NULL,
    title text NOT NULL,
    description text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT chapters_pkey PRIMARY KEY (id),
    CONSTRAINT chapters_subject_id_class_id_chapter_no_key UNIQUE (subject_id, class_id, chapter_no),
    CONSTRAINT chapters_chapter_no_check CHECK (chapter_no > 0),
    CONSTRAINT chapters_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subjects(id) ON DELETE CASCADE,
    CONSTRAINT chapters_class_id_fkey FOREIGN KEY (class_id) REFERENCES classes(id) ON DELETE CASCADE
);

CREATE TABLE topics (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    chapter_id bigint NOT NULL,
    topic_no smallint NOT NULL,
    title text NOT NULL,
    description text,
    estimated_periods smallint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT topics_pkey PRIMARY KEY (id),
    CONSTRAINT topics_chapter_id_topic_no_key UNIQUE (chapter_id, topic_no),
    CONSTRAINT topics_topic_no_check CHECK (topic_no > 0),
    CONSTRAINT topics_estimated_periods_check CHECK (estimated_periods > 0),
    CONSTRAINT topics_chapter_id_fkey FOREIGN KEY (chapter_id) REFERENCES chapters(id) ON DELETE CASCADE
);

CREATE TABLE lesson_plans (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    teacher_id bigint NOT NULL,
    section_id bigint NOT NULL,
    subject_id bigint NOT NULL,
    topic_id bigint,
    planned_date date NOT NULL,
    duration_minutes smallint,
    objectives text,
    teaching_methods text,
    resources text,
    homework text,
    status text DEFAULT 'draft' NOT NULL,
    reviewed_by bigint,
    reviewed_at timestamp with time zone,
    review_remarks text,
    completed_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT lesson_plans_pkey PRIMARY KEY (id),
    CONSTRAINT lesson_plans_duration_minutes_check CHECK (duration_minutes > 0),
    CONSTRAINT lesson_plans_status_check CHECK (status IN ('draft', 'submitted', 'approved', 'rejected', 'completed')),
    CONSTRAINT lesson_plans_teacher_id_fkey FOREIGN KEY (teacher_id) REFERENCES teachers(id) ON DELETE CASCADE,
    CONSTRAINT lesson_plans_section_id_fkey FOREIGN KEY (section_id) REFERENCES sections(id) ON DELETE CASCADE,
    CONSTRAINT lesson_plans_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subjects(id) ON DELETE RESTRICT,
    CONSTRAINT lesson_plans_topic_id_fkey FOREIGN KEY (topic_id) REFERENCES topics(id) ON DELETE SET NULL,
    CONSTRAINT lesson_plans_reviewed_by_fkey FOREIGN KEY (reviewed_by) REFERENCES users(id) ON DELETE SET NULL
);

--
-- Academics: periods and timetables
--

CREATE TABLE periods (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    school_id bigint NOT NULL,
    name text NOT NULL,
    period_no smallint NOT NULL,
    start_time time without time zone NOT NULL,
    end_time time without time zone NOT NULL,
    is_break boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT periods_pkey PRIMARY KEY (id),
    CONSTRAINT periods_school_id_period_no_key UNIQUE (school_id, period_no),
    CONSTRAINT periods_times_check CHECK (end_time > start_time),
    CONSTRAINT periods_school_id_fkey FOREIGN KEY (school_id) REFERENCES schools(id) ON DELETE CASCADE
);

CREATE TABLE timetable_templates (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    school_id bigint NOT NULL,
    name text NOT NULL,
    description text,
    working_days weekday[] DEFAULT '{monday,tuesday,wednesday,thursday,friday}'::weekday[] NOT NULL,
    periods_per_day smallint DEFAULT 8 NOT NULL,
    is_default boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT timetable_templates_pkey PRIMARY KEY (id),
    CONSTRAINT timetable_templates_school_id_name_key UNIQUE (school_id, name),
    CONSTRAINT timetable_templates_periods_per_day_check CHECK (periods_per_day BETWEEN 1 AND 16),
    CONSTRAINT timetable_templates_working_days_check CHECK (cardinality(working_days) BETWEEN 1 AND 7),
    CONSTRAINT timetable_templates_school_id_fkey FOREIGN KEY (school_id) REFERENCES schools(id) ON DELETE CASCADE
);

CREATE TABLE timetables (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    academic_session_id bigint NOT NULL,
    section_id bigint NOT NULL,
    timetable_template_id bigint,
    name text NOT NULL,
    effective_from date NOT NULL,
    effective_to date,
    status text DEFAULT 'draft' NOT NULL,
    published_at timestamp with time zone,
    created_by bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT timetables_pkey PRIMARY KEY (id),
    CONSTRAINT timetables_section_session_name_key UNIQUE (section_id, academic_session_id, name),
    CONSTRAINT timetables_dates_check CHECK (effective_to IS NULL OR effective_to >= effective_from),
    CONSTRAINT timetables_status_check CHECK (status IN ('draft', 'published', 'archived')),
    CONSTRAINT timetables_academic_session_id_fkey FOREIGN KEY (academic_session_id) REFERENCES academic_sessions(id) ON DELETE CASCADE,
    CONSTRAINT timetables_section_id_fkey FOREIGN KEY (section_id) REFERENCES sections(id) ON DELETE CASCADE,
    CONSTRAINT timetables_timetable_template_id_fkey FOREIGN KEY (timetable_template_id) REFERENCES timetable_templates(id) ON DELETE SET NULL,
    CONSTRAINT timetables_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE timetable_slots (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    timetable_id bigint NOT NULL,
    day_of_week weekday NOT NULL,
    period_id bigint NOT NULL,
    subject_id bigint,
    teacher_id bigint,
    room_no text,
    notes text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT timetable_slots_pkey PRIMARY KEY (id),
    CONSTRAINT timetable_slots_timetable_day_period_key UNIQUE (timetable_id, day_of_week, period_id),
    CONSTRAINT timetable_slots_timetable_id_fkey FOREIGN KEY (timetable_id) REFERENCES timetables(id) ON DELETE CASCADE,
    CONSTRAINT timetable_slots_period_id_fkey FOREIGN KEY (period_id) REFERENCES periods(id) ON DELETE RESTRICT,
    CONSTRAINT timetable_slots_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subjects(id) ON DELETE SET NULL,
    CONSTRAINT timetable_slots_teacher_id_fkey FOREIGN KEY (teacher_id) REFERENCES teachers(id) ON DELETE SET NULL
);

--
-- Students and parents
--

CREATE TABLE parents (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    user_id bigint,
    first_name text NOT NULL,
    last_name text,
    gender gender_type,
    email email_address,
    phone phone_number,
    alternate_phone phone_number,
    occupation text,
    address text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT parents_pkey PRIMARY KEY (id),
    CONSTRAINT parents_user_id_key UNIQUE (user_id),
    CONSTRAINT parents_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE students (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    school_id bigint NOT NULL,
    user_id bigint,
    admission_no text DEFAULT ('ADM' || lpad((nextval('student_admission_no_seq'))::text, 6, '0')) NOT NULL,
    first_name text NOT NULL,
    middle_name text,
    last_name text,
    gender gender_type,
    date_of_birth date NOT NULL,
    blood_group text,
    nationality text,
    email email_address,
    phone phone_number,
    address_line1 text,
    address_line2 text,
    city text,
    state text,
    postal_code text,
    admission_date date DEFAULT CURRENT_DATE NOT NULL,
    status student_status DEFAULT 'active' NOT NULL,
    photo_url text,
    medical_notes text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT students_pkey PRIMARY KEY (id),
    CONSTRAINT students_admission_no_key UNIQUE (admission_no),
    CONSTRAINT students_user_id_key UNIQUE (user_id),
    CONSTRAINT students_blood_group_check CHECK (blood_group IN ('A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-')),
    CONSTRAINT students_date_of_birth_check CHECK (date_of_birth < admission_date),
    CONSTRAINT students_school_id_fkey FOREIGN KEY (school_id) REFERENCES schools(id) ON DELETE RESTRICT,
    CONSTRAINT students_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE SET NULL
);

ALTER SEQUENCE student_admission_no_seq OWNED BY students.admission_no;

CREATE TABLE student_parents (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    student_id bigint NOT NULL,
    parent_id bigint NOT NULL,
    relationship text NOT NULL,
    is_primary_contact boolean DEFAULT false NOT NULL,
    is_emergency_contact boolean DEFAULT false NOT NULL,
    can_pickup boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT student_parents_pkey PRIMARY KEY (id),
    CONSTRAINT student_parents_student_id_parent_id_key UNIQUE (student_id, parent_id),
    CONSTRAINT student_parents_relationship_check CHECK (relationship IN ('father', 'mother', 'guardian', 'grandparent', 'sibling', 'other')),
    CONSTRAINT student_parents_student_id_fkey FOREIGN KEY (student_id) REFERENCES students(id) ON DELETE CASCADE,
    CONSTRAINT student_parents_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES parents(id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX student_parents_one_primary_contact ON student_parents USING btree (student_id) WHERE is_primary_contact;

CREATE TABLE student_enrollments (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    student_id bigint NOT NULL,
    academic_session_id bigint NOT NULL,
    class_id bigint NOT NULL,
    section_id bigint NOT NULL,
    roll_number integer,
    enrollment_date date DEFAULT CURRENT_DATE NOT NULL,
    status text DEFAULT 'active' NOT NULL,
    remarks text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT student_enrollments_pkey PRIMARY KEY (id),
    CONSTRAINT student_enrollments_student_id_session_key UNIQUE (student_id, academic_session_id),
    CONSTRAINT student_enrollments_session_section_roll_key UNIQUE (academic_session_id, section_id, roll_number),
    CONSTRAINT student_enrollments_roll_number_check CHECK (roll_number > 0),
    CONSTRAINT student_enrollments_status_check CHECK (status IN ('active', 'promoted', 'detained', 'transferred', 'withdrawn', 'graduated')),
    CONSTRAINT student_enrollments_student_id_fkey FOREIGN KEY (student_id) REFERENCES students(id) ON DELETE CASCADE,
    CONSTRAINT student_enrollments_academic_session_id_fkey FOREIGN KEY (academic_session_id) REFERENCES academic_sessions(id) ON DELETE RESTRICT,
    CONSTRAINT student_enrollments_class_id_fkey FOREIGN KEY (class_id) REFERENCES classes(id) ON DELETE RESTRICT,
    CONSTRAINT student_enrollments_section_id_fkey FOREIGN KEY (section_id) REFERENCES sections(id) ON DELETE RESTRICT
);

CREATE TABLE promotion_history (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    student_id bigint NOT NULL,
    from_academic_session_id bigint NOT NULL,
    to_academic_session_id bigint,
    from_class_id bigint NOT NULL,
    to_class_id bigint,
    from_section_id bigint,
    to_section_id bigint,
    result text NOT NULL,
    remarks text,
    promoted_by bigint,
    promoted_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT promotion_history_pkey PRIMARY KEY (id),
    CONSTRAINT promotion_history_student_id_from_session_key UNIQUE (student_id, from_academic_session_id),
    CONSTRAINT promotion_history_result_check CHECK (result IN ('promoted', 'detained', 'graduated', 'left')),
    CONSTRAINT promotion_history_target_check CHECK (result IN ('graduated', 'left') OR (to_academic_session_id IS NOT NULL AND to_class_id IS NOT NULL)),
    CONSTRAINT promotion_history_student_id_fkey FOREIGN KEY (student_id) REFERENCES students(id) ON DELETE CASCADE,
    CONSTRAINT promotion_history_from_academic_session_id_fkey FOREIGN KEY (from_academic_session_id) REFERENCES academic_sessions(id) ON DELETE RESTRICT,
    CONSTRAINT promotion_history_to_academic_session_id_fkey FOREIGN KEY (to_academic_session_id) REFERENCES academic_sessions(id) ON DELETE RESTRICT,
    CONSTRAINT promotion_history_from_class_id_fkey FOREIGN KEY (from_class_id) REFERENCES classes(id) ON DELETE RESTRICT,
    CONSTRAINT promotion_history_to_class_id_fkey FOREIGN KEY (to_class_id) REFERENCES classes(id) ON DELETE RESTRICT,
    CONSTRAINT promotion_history_from_section_id_fkey FOREIGN KEY (from_section_id) REFERENCES sections(id) ON DELETE SET NULL,
    CONSTRAINT promotion_history_to_section_id_fkey FOREIGN KEY (to_section_id) REFERENCES sections(id) ON DELETE SET NULL,
    CONSTRAINT promotion_history_promoted_by_fkey FOREIGN KEY (promoted_by) REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE teacher_attendance (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    teacher_id bigint NOT NULL,
    attendance_date date NOT NULL,
    status attendance_status NOT NULL,
    check_in_time time without time zone,
    check_out_time time without time zone,
    remarks text,
    marked_by bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT teacher_attendance_pkey PRIMARY KEY (id),
    CONSTRAINT teacher_attendance_teacher_id_date_key UNIQUE (teacher_id, attendance_date),
    CONSTRAINT teacher_attendance_times_check CHECK (check_out_time IS NULL OR check_in_time IS NULL OR check_out_time >= check_in_time),
    CONSTRAINT teacher_attendance_teacher_id_fkey FOREIGN KEY (teacher_id) REFERENCES teachers(id) ON DELETE CASCADE,
    CONSTRAINT teacher_attendance_marked_by_fkey FOREIGN KEY (marked_by) REFERENCES users(id) ON DELETE SET NULL
);

--
-- Attendance
--

CREATE TABLE attendance_settings (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    setting_key text NOT NULL,
    setting_value jsonb NOT NULL,
    description text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT attendance_settings_pkey PRIMARY KEY (id),
    CONSTRAINT attendance_settings_setting_key_key UNIQUE (setting_key),
    CONSTRAINT attendance_settings_setting_key_check CHECK (setting_key ~ '^[a-z][a-z0-9_]*$')
);

CREATE TABLE student_attendance (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    student_id bigint NOT NULL,
    academic_session_id bigint NOT NULL,
    section_id bigint NOT NULL,
    period_id bigint,
    subject_id bigint,
    attendance_date date NOT NULL,
    status attendance_status NOT NULL,
    remarks text,
    marked_by bigint,
    marked_at timestamp with time zone DEFAULT now() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT student_attendance_pkey PRIMARY KEY (id),
    CONSTRAINT student_attendance_student_date_period_key UNIQUE NULLS NOT DISTINCT (student_id, attendance_date, period_id),
    CONSTRAINT student_attendance_student_id_fkey FOREIGN KEY (student_id) REFERENCES students(id) ON DELETE CASCADE,
    CONSTRAINT student_attendance_academic_session_id_fkey FOREIGN KEY (academic_session_id) REFERENCES academic_sessions(id) ON DELETE RESTRICT,
    CONSTRAINT student_attendance_section_id_fkey FOREIGN KEY (section_id) REFERENCES sections(id) ON DELETE RESTRICT,
    CONSTRAINT student_attendance_period_id_fkey FOREIGN KEY (period_id) REFERENCES periods(id) ON DELETE RESTRICT,
    CONSTRAINT student_attendance_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subjects(id) ON DELETE SET NULL,
    CONSTRAINT student_attendance_marked_by_fkey FOREIGN KEY (marked_by) REFERENCES users(id) ON DELETE SET NULL
);

COMMENT ON COLUMN student_attendance.period_id IS 'NULL for daily attendance; set for period-wise attendance.';

CREATE TABLE attendance_audit_logs (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    student_attendance_id bigint,
    student_id bigint NOT NULL,
    attendance_date date NOT NULL,
    period_id bigint,
    action text NOT NULL,
    old_status attendance_status,
    new_status attendance_status,
    changed_by bigint,
    reason text,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT attendance_audit_logs_pkey PRIMARY KEY (id),
    CONSTRAINT attendance_audit_logs_action_check CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
    CONSTRAINT attendance_audit_logs_student_attendance_id_fkey FOREIGN KEY (student_attendance_id) REFERENCES student_attendance(id) ON DELETE SET NULL,
    CONSTRAINT attendance_audit_logs_changed_by_fkey FOREIGN KEY (changed_by) REFERENCES users(id) ON DELETE SET NULL
);

COMMENT ON TABLE attendance_audit_logs IS 'Written by the student_attendance trigger. student_id, attendance_date and period_id are copies, kept after the attendance row is deleted.';

CREATE TABLE attendance_summaries (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    student_id bigint NOT NULL,
    academic_session_id bigint NOT NULL,
    summary_month date NOT NULL,
    working_days integer DEFAULT 0 NOT NULL,
    present_days integer DEFAULT 0 NOT NULL,
    absent_days integer DEFAULT 0 NOT NULL,
    late_days integer DEFAULT 0 NOT NULL,
    half_days integer DEFAULT 0 NOT NULL,
    leave_days integer DEFAULT 0 NOT NULL,
    attendance_percentage percentage,
    computed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT attendance_summaries_pkey PRIMARY KEY (id),
    CONSTRAINT attendance_summaries_student_session_month_key UNIQUE (student_id, academic_session_id, summary_month),
    CONSTRAINT attendance_summaries_summary_month_check CHECK (EXTRACT(day FROM summary_month) = 1),
    CONSTRAINT attendance_summaries_counts_check CHECK (
        working_days >= 0 AND present_days >= 0 AND absent_days >= 0 AND late_days >= 0
        AND half_days >= 0 AND leave_days >= 0
        AND present_days + absent_days + late_days + half_days + leave_days <= working_days
    ),
    CONSTRAINT attendance_summaries_student_id_fkey FOREIGN KEY (student_id) REFERENCES students(id) ON DELETE CASCADE,
    CONSTRAINT attendance_summaries_academic_session_id_fkey FOREIGN KEY (academic_session_id) REFERENCES academic_sessions(id) ON DELETE CASCADE
);

CREATE TABLE leave_applications (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    applicant_type text NOT NULL,
    student_id bigint,
    teacher_id bigint,
    leave_type text NOT NULL,
    from_date date NOT NULL,
    to_date date NOT NULL,
    is_half_day boolean DEFAULT false NOT NULL,
    reason text NOT NULL,
    attachment_url text,
    status leave_status DEFAULT 'pending' NOT NULL,
    applied_by bigint,
    reviewed_by bigint,
    reviewed_at timestamp with time zone,
    review_remarks text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT leave_applications_pkey PRIMARY KEY (id),
    CONSTRAINT leave_applications_applicant_check CHECK (
        (applicant_type = 'student' AND student_id IS NOT NULL AND teacher_id IS NULL)
        OR (applicant_type = 'teacher' AND teacher_id IS NOT NULL AND student_id IS NULL)
    ),
    CONSTRAINT leave_applications_leave_type_check CHECK (leave_type IN ('sick', 'casual', 'earned', 'maternity', 'paternity', 'bereavement', 'duty', 'unpaid', 'other')),
    CONSTRAINT leave_applications_dates_check CHECK (to_date >= from_date),
    CONSTRAINT leave_applications_half_day_check CHECK (NOT is_half_day OR from_date = to_date),
    CONSTRAINT leave_applications_student_id_fkey FOREIGN KEY (student_id) REFERENCES students(id) ON DELETE CASCADE,
    CONSTRAINT leave_applications_teacher_id_fkey FOREIGN KEY (teacher_id) REFERENCES teachers(id) ON DELETE CASCADE,
    CONSTRAINT leave_applications_applied_by_fkey FOREIGN KEY (applied_by) REFERENCES users(id) ON DELETE SET NULL,
    CONSTRAINT leave_applications_reviewed_by_fkey FOREIGN KEY (reviewed_by) REFERENCES users(id) ON DELETE SET NULL
);

--
-- Exams and grading
--

CREATE TABLE grades (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    name text NOT NULL,
    min_percentage percentage NOT NULL,
    max_percentage percentage NOT NULL,
    grade_point numeric(3,1) NOT NULL,
    description text,
    is_passing boolean DEFAULT true NOT NULL,
    display_order smallint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT grades_pkey PRIMARY KEY (id),
    CONSTRAINT grades_name_key UNIQUE (name),
    CONSTRAINT grades_range_check CHECK (min_percentage <= max_percentage),
    CONSTRAINT grades_grade_point_check CHECK (grade_point >= 0 AND grade_point <= 10),
    CONSTRAINT grades_no_overlap EXCLUDE USING gist (numrange(min_percentage, max_percentage, '[]') WITH &&)
);

CREATE TABLE exams (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    academic_session_id bigint NOT NULL,
    academic_term_id bigint,
    name text NOT NULL,
    exam_type exam_type NOT NULL,
    start_date date NOT NULL,
    end_date date NOT NULL,
    status exam_status DEFAULT 'draft' NOT NULL,
    weightage percentage,
    description text,
    results_published_at timestamp with time zone,
    created_by bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT exams_pkey PRIMARY KEY (id),
    CONSTRAINT exams_academic_session_id_name_key UNIQUE (academic_session_id, name),
    CONSTRAINT exams_dates_check CHECK (end_date >= start_date),
    CONSTRAINT exams_academic_session_id_fkey FOREIGN KEY (academic_session_id) REFERENCES academic_sessions(id) ON DELETE CASCADE,
    CONSTRAINT exams_academic_term_id_fkey FOREIGN KEY (academic_term_id) REFERENCES academic_terms(id) ON DELETE SET NULL,
    CONSTRAINT exams_created_by_fkey FOREIGN KEY (created_by) REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE exam_schedules (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    exam_id bigint NOT NULL,
    class_id bigint NOT NULL,
    subject_id bigint NOT NULL,
    exam_date date NOT NULL,
    start_time time without time zone,
    end_time time without time zone,
    room_no text,
    max_marks numeric(6,2) DEFAULT 100 NOT NULL,
    pass_marks numeric(6,2) DEFAULT 33 NOT NULL,
    invigilator_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT exam_schedules_pkey PRIMARY KEY (id),
    CONSTRAINT exam_schedules_exam_id_class_id_subject_id_key UNIQUE (exam_id, class_id, subject_id),
    CONSTRAINT exam_schedules_marks_check CHECK (max_marks > 0 AND pass_marks >= 0 AND pass_marks <= max_marks),
    CONSTRAINT exam_schedules_times_check CHECK (end_time IS NULL OR start_time IS NULL OR end_time > start_time),
    CONSTRAINT exam_schedules_exam_id_fkey FOREIGN KEY (exam_id) REFERENCES exams(id) ON DELETE CASCADE,
    CONSTRAINT exam_schedules_class_id_fkey FOREIGN KEY (class_id) REFERENCES classes(id) ON DELETE RESTRICT,
    CONSTRAINT exam_schedules_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subjects(id) ON DELETE RESTRICT,
    CONSTRAINT exam_schedules_invigilator_id_fkey FOREIGN KEY (invigilator_id) REFERENCES teachers(id) ON DELETE SET NULL
);

CREATE TABLE marks (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    exam_schedule_id bigint NOT NULL,
    student_id bigint NOT NULL,
    marks_obtained numeric(6,2),
    is_absent boolean DEFAULT false NOT NULL,
    grade_id bigint,
    remarks text,
    entered_by bigint,
    verified_by bigint,
    verified_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT marks_pkey PRIMARY KEY (id),
    CONSTRAINT marks_exam_schedule_id_student_id_key UNIQUE (exam_schedule_id, student_id),
    CONSTRAINT marks_marks_obtained_check CHECK (marks_obtained >= 0),
    CONSTRAINT marks_absent_check CHECK (NOT (is_absent AND marks_obtained IS NOT NULL)),
    CONSTRAINT marks_exam_schedule_id_fkey FOREIGN KEY (exam_schedule_id) REFERENCES exam_schedules(id) ON DELETE CASCADE,
    CONSTRAINT marks_student_id_fkey FOREIGN KEY (student_id) REFERENCES students(id) ON DELETE CASCADE,
    CONSTRAINT marks_grade_id_fkey FOREIGN KEY (grade_id) REFERENCES grades(id) ON DELETE SET NULL,
    CONSTRAINT marks_entered_by_fkey FOREIGN KEY (entered_by) REFERENCES users(id) ON DELETE SET NULL,
    CONSTRAINT marks_verified_by_fkey FOREIGN KEY (verified_by) REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE grade_sheets (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    student_id bigint NOT NULL,
    exam_id bigint NOT NULL,
    academic_session_id bigint NOT NULL,
    class_id bigint NOT NULL,
    section_id bigint,
    total_marks numeric(8,2),
    max_marks numeric(8,2),
    percentage percentage,
    grade_id bigint,
    grade_point_average numeric(4,2),
    rank_in_section integer,
    attendance_percentage percentage,
    result text DEFAULT 'pending' NOT NULL,
    teacher_remarks text,
    principal_remarks text,
    generated_at timestamp with time zone DEFAULT now() NOT NULL,
    published_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT grade_sheets_pkey PRIMARY KEY (id),
    CONSTRAINT grade_sheets_student_id_exam_id_key UNIQUE (student_id, exam_id),
    CONSTRAINT grade_sheets_marks_check CHECK (total_marks IS NULL OR max_marks IS NULL OR (total_marks >= 0 AND total_marks <= max_marks)),
    CONSTRAINT grade_sheets_grade_point_average_check CHECK (grade_point_average >= 0 AND grade_point_average <= 10),
    CONSTRAINT grade_sheets_rank_in_section_check CHECK (rank_in_section > 0),
    CONSTRAINT grade_sheets_result_check CHECK (result IN ('pending', 'pass', 'fail', 'withheld', 'absent')),
    CONSTRAINT grade_sheets_student_id_fkey FOREIGN KEY (student_id) REFERENCES students(id) ON DELETE CASCADE,
    CONSTRAINT grade_sheets_exam_id_fkey FOREIGN KEY (exam_id) REFERENCES exams(id) ON DELETE CASCADE,
    CONSTRAINT grade_sheets_academic_session_id_fkey FOREIGN KEY (academic_session_id) REFERENCES academic_sessions(id) ON DELETE RESTRICT,
    CONSTRAINT grade_sheets_class_id_fkey FOREIGN KEY (class_id) REFERENCES classes(id) ON DELETE RESTRICT,
    CONSTRAINT grade_sheets_section_id_fkey FOREIGN KEY (section_id) REFERENCES sections(id) ON DELETE SET NULL,
    CONSTRAINT grade_sheets_grade_id_fkey FOREIGN KEY (grade_id) REFERENCES grades(id) ON DELETE SET NULL
);

--
-- University: departments, faculty, programs, courses
--

CREATE TABLE departments (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    school_id bigint NOT NULL,
    code text NOT NULL,
    name text NOT NULL,
    head_faculty_id bigint,
    description text,
    established_year smallint,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT departments_pkey PRIMARY KEY (id),
    CONSTRAINT departments_school_id_code_key UNIQUE (school_id, code),
    CONSTRAINT departments_school_id_name_key UNIQUE (school_id, name),
    CONSTRAINT departments_established_year_check CHECK (established_year BETWEEN 1800 AND 2100),
    CONSTRAINT departments_school_id_fkey FOREIGN KEY (school_id) REFERENCES schools(id) ON DELETE CASCADE
);

CREATE TABLE faculty (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    department_id bigint NOT NULL,
    user_id bigint,
    employee_code text NOT NULL,
    first_name text NOT NULL,
    last_name text,
    designation text NOT NULL,
    qualification text,
    specialization text,
    email email_address,
    phone phone_number,
    joining_date date NOT NULL,
    status text DEFAULT 'active' NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT faculty_pkey PRIMARY KEY (id),
    CONSTRAINT faculty_employee_code_key UNIQUE (employee_code),
    CONSTRAINT faculty_user_id_key UNIQUE (user_id),
    CONSTRAINT faculty_designation_check CHECK (designation IN ('professor', 'associate_professor', 'assistant_professor', 'lecturer', 'visiting_faculty', 'teaching_assistant')),
    CONSTRAINT faculty_status_check CHECK (status IN ('active', 'on_leave', 'resigned', 'retired')),
    CONSTRAINT faculty_department_id_fkey FOREIGN KEY (department_id) REFERENCES departments(id) ON DELETE RESTRICT,
    CONSTRAINT faculty_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE SET NULL
);

ALTER TABLE departments
    ADD CONSTRAINT departments_head_faculty_id_fkey FOREIGN KEY (head_faculty_id) REFERENCES faculty(id) ON DELETE SET NULL;

CREATE TABLE programs (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    department_id bigint NOT NULL,
    code text NOT NULL,
    name text NOT NULL,
    degree_level text NOT NULL,
    duration_semesters smallint NOT NULL,
    total_credits numeric(5,1),
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT programs_pkey PRIMARY KEY (id),
    CONSTRAINT programs_code_key UNIQUE (code),
    CONSTRAINT programs_degree_level_check CHECK (degree_level IN ('certificate', 'diploma', 'undergraduate', 'postgraduate', 'doctoral')),
    CONSTRAINT programs_duration_semesters_check CHECK (duration_semesters BETWEEN 1 AND 16),
    CONSTRAINT programs_total_credits_check CHECK (total_credits > 0),
    CONSTRAINT programs_department_id_fkey FOREIGN KEY (department_id) REFERENCES departments(id) ON DELETE RESTRICT
);

CREATE TABLE semesters (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    academic_session_id bigint NOT NULL,
    name text NOT NULL,
    semester_no smallint NOT NULL,
    start_date date NOT NULL,
    end_date date NOT NULL,
    registration_opens_on date,
    registration_closes_on date,
    status text DEFAULT 'planned' NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT semesters_pkey PRIMARY KEY (id),
    CONSTRAINT semesters_academic_session_id_semester_no_key UNIQUE (academic_session_id, semester_no),
    CONSTRAINT semesters_academic_session_id_name_key UNIQUE (academic_session_id, name),
    CONSTRAINT semesters_semester_no_check CHECK (semester_no > 0),
    CONSTRAINT semesters_dates_check CHECK (end_date > start_date),
    CONSTRAINT semesters_registration_check CHECK (registration_closes_on IS NULL OR registration_opens_on IS NULL OR registration_closes_on >= registration_opens_on),
    CONSTRAINT semesters_status_check CHECK (status IN ('planned', 'registration_open', 'in_progress', 'completed')),
    CONSTRAINT semesters_academic_session_id_fkey FOREIGN KEY (academic_session_id) REFERENCES academic_sessions(id) ON DELETE CASCADE
);

CREATE TABLE courses (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    department_id bigint NOT NULL,
    program_id bigint,
    code text NOT NULL,
    title text NOT NULL,
    credits numeric(3,1) NOT NULL,
    course_type text DEFAULT 'core' NOT NULL,
    recommended_semester smallint,
    description text,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT courses_pkey PRIMARY KEY (id),
    CONSTRAINT courses_code_key UNIQUE (code),
    CONSTRAINT courses_credits_check CHECK (credits > 0),
    CONSTRAINT courses_course_type_check CHECK (course_type IN ('core', 'elective', 'lab', 'project', 'seminar')),
    CONSTRAINT courses_recommended_semester_check CHECK (recommended_semester > 0),
    CONSTRAINT courses_department_id_fkey FOREIGN KEY (department_id) REFERENCES departments(id) ON DELETE RESTRICT,
    CONSTRAINT courses_program_id_fkey FOREIGN KEY (program_id) REFERENCES programs(id) ON DELETE SET NULL
);

CREATE TABLE enrollments (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    student_id bigint NOT NULL,
    course_id bigint NOT NULL,
    semester_id bigint NOT NULL,
    faculty_id bigint,
    enrolled_on date DEFAULT CURRENT_DATE NOT NULL,
    status text DEFAULT 'enrolled' NOT NULL,
    grade_id bigint,
    grade_points numeric(3,1),
    attendance_percentage percentage,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT enrollments_pkey PRIMARY KEY (id),
    CONSTRAINT enrollments_student_course_semester_key UNIQUE (student_id, course_id, semester_id),
    CONSTRAINT enrollments_status_check CHECK (status IN ('enrolled', 'dropped', 'completed', 'failed', 'withdrawn')),
    CONSTRAINT enrollments_grade_points_check CHECK (grade_points >= 0 AND grade_points <= 10),
    CONSTRAINT enrollments_student_id_fkey FOREIGN KEY (student_id) REFERENCES students(id) ON DELETE CASCADE,
    CONSTRAINT enrollments_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses(id) ON DELETE RESTRICT,
    CONSTRAINT enrollments_semester_id_fkey FOREIGN KEY (semester_id) REFERENCES semesters(id) ON DELETE RESTRICT,
    CONSTRAINT enrollments_faculty_id_fkey FOREIGN KEY (faculty_id) REFERENCES faculty(id) ON DELETE SET NULL,
    CONSTRAINT enrollments_grade_id_fkey FOREIGN KEY (grade_id) REFERENCES grades(id) ON DELETE SET NULL
);

--
-- Views
--

CREATE VIEW v_student_attendance_summary AS
 SELECT sa.student_id,
    s.admission_no,
    concat_ws(' ', s.first_name, s.middle_name, s.last_name) AS student_name,
    sa.academic_session_id,
    sa.section_id,
    count(*) AS marked_days,
    count(*) FILTER (WHERE sa.status = 'present') AS present_days,
    count(*) FILTER (WHERE sa.status = 'absent') AS absent_days,
    count(*) FILTER (WHERE sa.status = 'late') AS late_days,
    count(*) FILTER (WHERE sa.status = 'half_day') AS half_days,
    count(*) FILTER (WHERE sa.status IN ('excused', 'on_leave')) AS leave_days,
    attendance_percentage(
        count(*) FILTER (WHERE sa.status IN ('present', 'late')) + 0.5 * count(*) FILTER (WHERE sa.status = 'half_day'),
        count(*)
    ) AS attendance_percentage,
    min(sa.attendance_date) AS first_marked_on,
    max(sa.attendance_date) AS last_marked_on
   FROM student_attendance sa
     JOIN students s ON s.id = sa.student_id
  WHERE sa.period_id IS NULL
  GROUP BY sa.student_id, s.admission_no, s.first_name, s.middle_name, s.last_name, sa.academic_session_id, sa.section_id;

COMMENT ON VIEW v_student_attendance_summary IS 'Daily attendance (period_id IS NULL) per student, session and section; half days count as 0.5.';

CREATE VIEW v_section_strength AS
 SELECT se.academic_session_id,
    c.id AS class_id,
    c.name AS class_name,
    sec.id AS section_id,
    sec.name AS section_name,
    sec.capacity,
    count(*) AS active_students,
    count(*) FILTER (WHERE st.gender = 'male') AS male_students,
    count(*) FILTER (WHERE st.gender = 'female') AS female_students,
    sec.capacity - count(*) AS seats_available
   FROM student_enrollments se
     JOIN sections sec ON sec.id = se.section_id
     JOIN classes c ON c.id = sec.class_id
     JOIN students st ON st.id = se.student_id
  WHERE se.status = 'active'
  GROUP BY se.academic_session_id, c.id, c.name, sec.id, sec.name, sec.capacity;

--
-- Triggers
--

CREATE TRIGGER trg_academic_sessions_lock_log AFTER UPDATE OF is_locked ON academic_sessions FOR EACH ROW EXECUTE FUNCTION log_academic_session_lock();
CREATE TRIGGER trg_academic_sessions_lock_stamp BEFORE UPDATE OF is_locked ON academic_sessions FOR EACH ROW EXECUTE FUNCTION stamp_academic_session_lock();
CREATE TRIGGER trg_student_attendance_audit AFTER INSERT OR DELETE OR UPDATE ON student_attendance FOR EACH ROW EXECUTE FUNCTION log_student_attendance_change();
CREATE TRIGGER trg_student_attendance_session_lock BEFORE INSERT OR DELETE OR UPDATE ON student_attendance FOR EACH ROW EXECUTE FUNCTION prevent_locked_session_changes();
CREATE TRIGGER trg_attendance_summaries_session_lock BEFORE INSERT OR DELETE OR UPDATE ON attendance_summaries FOR EACH ROW EXECUTE FUNCTION prevent_locked_session_changes();
CREATE TRIGGER trg_marks_assign_grade BEFORE INSERT OR UPDATE OF marks_obtained, is_absent, exam_schedule_id ON marks FOR EACH ROW EXECUTE FUNCTION assign_mark_grade();

CREATE TRIGGER trg_schools_updated_at BEFORE UPDATE ON schools FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_roles_updated_at BEFORE UPDATE ON roles FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_tenant_role_configs_updated_at BEFORE UPDATE ON tenant_role_configs FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_academic_sessions_updated_at BEFORE UPDATE ON academic_sessions FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_academic_terms_updated_at BEFORE UPDATE ON academic_terms FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_master_holidays_updated_at BEFORE UPDATE ON master_holidays FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_session_holidays_updated_at BEFORE UPDATE ON session_holidays FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_teachers_updated_at BEFORE UPDATE ON teachers FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_classes_updated_at BEFORE UPDATE ON classes FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_sections_updated_at BEFORE UPDATE ON sections FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_subjects_updated_at BEFORE UPDATE ON subjects FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_class_subjects_updated_at BEFORE UPDATE ON class_subjects FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_chapters_updated_at BEFORE UPDATE ON chapters FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_topics_updated_at BEFORE UPDATE ON topics FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_lesson_plans_updated_at BEFORE UPDATE ON lesson_plans FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_periods_updated_at BEFORE UPDATE ON periods FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_timetable_templates_updated_at BEFORE UPDATE ON timetable_templates FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_timetables_updated_at BEFORE UPDATE ON timetables FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_timetable_slots_updated_at BEFORE UPDATE ON timetable_slots FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_parents_updated_at BEFORE UPDATE ON parents FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_students_updated_at BEFORE UPDATE ON students FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_student_enrollments_updated_at BEFORE UPDATE ON student_enrollments FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_teacher_attendance_updated_at BEFORE UPDATE ON teacher_attendance FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_attendance_settings_updated_at BEFORE UPDATE ON attendance_settings FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_student_attendance_updated_at BEFORE UPDATE ON student_attendance FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_leave_applications_updated_at BEFORE UPDATE ON leave_applications FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_grades_updated_at BEFORE UPDATE ON grades FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_exams_updated_at BEFORE UPDATE ON exams FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_exam_schedules_updated_at BEFORE UPDATE ON exam_schedules FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_marks_updated_at BEFORE UPDATE ON marks FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_grade_sheets_updated_at BEFORE UPDATE ON grade_sheets FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_departments_updated_at BEFORE UPDATE ON departments FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_faculty_updated_at BEFORE UPDATE ON faculty FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_programs_updated_at BEFORE UPDATE ON programs FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_semesters_updated_at BEFORE UPDATE ON semesters FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_courses_updated_at BEFORE UPDATE ON courses FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_enrollments_updated_at BEFORE UPDATE ON enrollments FOR EACH ROW EXECUTE FUNCTION set_updated_at();
